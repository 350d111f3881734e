/**
 * Encrypts small secrets at rest (TOTP seeds): KMS on AWS, AES-256-GCM with a local key file locally.
 * `boundTo` (e.g. `totp:<userId>`) is authenticated with the ciphertext (KMS encryption context, GCM
 * associated data): a sealed secret copied onto another account does not open there.
 */
export interface SecretBox {
  seal(plaintext: string, boundTo: string): Promise<string>;
  open(ciphertext: string, boundTo: string): Promise<string>;
}
