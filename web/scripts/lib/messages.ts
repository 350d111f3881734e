/** What the pages say for the API's error codes and password-policy reasons. */
import type { ApiError } from './api.js';

const reasonSentences: Readonly<Record<string, string>> = {
  too_short: 'Use at least 8 characters.',
  too_long: 'Use at most 256 characters.',
  common:
    'This password is too common: people trying to break in guess it early. Choose something less predictable.',
  breached:
    'This password has appeared in a data breach elsewhere, so attackers try it. Choose one you have not used before.',
  same_as_current: 'The new password must be different from your current one.',
  contains_identifier: 'The password must not contain your email address or username.',
};

export function reasonSentence(reason: string): string {
  return reasonSentences[reason] ?? 'Choose a different password.';
}

/** The code step of a sign-in or a password reset (`mfa_required`), and any page's `invalid_otp` answer. */
export const otpRequiredSentence =
  'Your account has two-factor authentication. Enter the code from your authenticator app.';
export const otpRejectedSentence =
  'That code is not right, or it was already used. Wait for the next code and try again.';

/** "30 seconds", "2 minutes", "1 hour". */
export function describeWait(seconds: number | undefined): string {
  if (seconds === undefined || seconds <= 0) return 'a little while';
  if (seconds < 60) return `${seconds} second${seconds === 1 ? '' : 's'}`;
  const minutes = Math.ceil(seconds / 60);
  if (minutes < 60) return `${minutes} minute${minutes === 1 ? '' : 's'}`;
  const hours = Math.ceil(minutes / 60);
  return `${hours} hour${hours === 1 ? '' : 's'}`;
}

/** A sentence for errors any page can meet; the page handles the codes that are specific to it first. */
export function genericError(error: ApiError): string {
  switch (error.error) {
    case 'too_many_requests':
      return `Too many attempts. Please wait ${describeWait(error.retryAfter)} and try again.`;
    case 'unavailable':
      return `The service is busy or partly down. Please try again in ${describeWait(error.retryAfter)}.`;
    case 'network':
      return 'We could not reach the service. Check your connection and try again.';
    case 'invalid_request':
      return 'Something in the form is not valid. Check each field and try again.';
    case 'weak_password':
      return 'Choose a different password.';
    default:
      return 'Something went wrong on our side. Please try again in a moment.';
  }
}
