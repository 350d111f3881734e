/** Optional online check of a password against a breach corpus (e.g. Have I Been Pwned). */
export interface BreachedPasswordChecker {
  /** True when the password is known to be breached; must fail open (false) when the service is unreachable. */
  isBreached(password: string): Promise<boolean>;
}
