export { createAccountShieldClient, type LoginInput } from './client.js';
export { AccountShieldError, type ApiErrorCode } from './errors.js';
export { TokenManager, type TokenManagerOptions, type TokenSet } from './token-manager.js';
export type { DeviceRequest, DeviceSession, LoginResponse, SessionInfo, User } from './types.js';
export {
  createResourceServerVerifier,
  type ResourceServerVerifierOptions,
  type VerifiedToken,
} from './verifier.js';
