/** Encrypts small secrets at rest (TOTP seeds): KMS on AWS, AES-256-GCM with a local key file locally. */
export interface SecretBox {
  seal(plaintext: string): Promise<string>;
  open(ciphertext: string): Promise<string>;
}
