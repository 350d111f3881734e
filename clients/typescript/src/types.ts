/** Response shapes of the JSON routes, as documented in openapi.yaml (components/schemas). */
export interface User {
  readonly id: string;
  readonly email: string;
  readonly username?: string;
  readonly authMethod: 'password' | 'sso';
  readonly mfaEnabled: boolean;
  readonly createdAt: string;
}

export interface LoginResponse {
  readonly accessToken: string;
  readonly refreshToken: string;
  readonly tokenType: 'Bearer';
  readonly expiresIn: number;
  readonly sessionId: string;
  readonly user: User;
}

export interface SessionInfo {
  readonly userId: string;
  readonly sessionId: string;
  readonly tokenVersion: number;
  readonly issuedAt: string;
  readonly expiresAt: string;
}

export interface DeviceSession {
  readonly id: string;
  readonly deviceName: string | null;
  readonly createdAt: string;
  readonly lastUsedAt: string;
  readonly current: boolean;
}

export interface DeviceRequest {
  readonly userCode: string;
  readonly clientName: string;
  readonly expiresAt: string;
}
