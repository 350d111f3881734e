/** Where an import job reads its file from: an S3 object on AWS, an in-memory buffer in tests. */
export interface ImportObjectSource {
  /** The object's bytes from `offset` to the end (an HTTP Range read on S3). */
  read(location: ImportObjectLocation, offset: number): AsyncIterable<Uint8Array>;
}

export interface ImportObjectLocation {
  readonly bucket: string;
  readonly key: string;
  /** Names the object's version: a new upload under the same key is a new job. */
  readonly etag: string;
}
