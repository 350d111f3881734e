/** The smallest environment loadConfig accepts, for unit tests that build a Config but touch no AWS. */
export const unitTestEnv = {
  USERS_TABLE: 'users',
  IDENTIFIERS_TABLE: 'identifiers',
  SESSIONS_TABLE: 'sessions',
  RECORDS_TABLE: 'records',
  PUBLIC_APP_URL: 'https://app.example.test',
  JWT_ISSUER: 'https://issuer.example.test',
  JWT_AUDIENCE: 'account-shield',
  SIGNING_KEY_FILE: '/dev/null',
} as const;
