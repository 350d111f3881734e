import { dictionary } from '@zxcvbn-ts/language-common';

let blocklist: ReadonlySet<string> | undefined;

/**
 * The common/breached password list shipped by @zxcvbn-ts/language-common (~49,000 entries from
 * public breach corpora), lower-cased and loaded once per cold start.
 */
export function loadPasswordBlocklist(): ReadonlySet<string> {
  blocklist ??= new Set(
    dictionary['passwords-common'].map((password) => password.normalize('NFKC').toLowerCase()),
  );
  return blocklist;
}
