/** Small DOM helpers: the pages' markup is static HTML; scripts only fill in text and toggle `hidden`. */

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`#${id} is missing from the page`);
  return element as T;
}

export function show(element: HTMLElement, visible = true): void {
  element.hidden = !visible;
}

/**
 * Writes a message into a live region (role=alert for errors, role=status otherwise), so screen readers
 * announce it, and moves focus there when asked.
 */
export function say(region: HTMLElement, text: string, options: { focus?: boolean } = {}): void {
  region.textContent = text;
  region.hidden = text === '';
  if (options.focus && text) {
    region.tabIndex = -1;
    region.focus();
  }
}

/** A paragraph (or list) of sentences with an optional link, built without innerHTML. */
export function sayWithLink(
  region: HTMLElement,
  text: string,
  link: { readonly href: string; readonly label: string },
): void {
  region.replaceChildren(document.createTextNode(`${text} `), anchor(link.href, link.label));
  region.hidden = false;
  region.tabIndex = -1;
  region.focus();
}

export function sayList(region: HTMLElement, intro: string, items: readonly string[]): void {
  const list = document.createElement('ul');
  for (const item of items) {
    const entry = document.createElement('li');
    entry.textContent = item;
    list.append(entry);
  }
  const lead = document.createElement('p');
  lead.textContent = intro;
  region.replaceChildren(lead, list);
  region.hidden = false;
  region.tabIndex = -1;
  region.focus();
}

export function anchor(href: string, label: string): HTMLAnchorElement {
  const link = document.createElement('a');
  link.href = href;
  link.textContent = label;
  return link;
}

/** Disables a form's button while its request runs, so a double click cannot send it twice. */
export async function whileBusy<T>(button: HTMLButtonElement, work: () => Promise<T>): Promise<T> {
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
  }
}

/** Parameters of `#a=1&b=2`. */
export function fragmentParams(): URLSearchParams {
  return new URLSearchParams(location.hash.startsWith('#') ? location.hash.slice(1) : location.hash);
}

/** Drops the fragment from the address bar and history (it may hold a one-time secret). */
export function forgetFragment(): void {
  history.replaceState(null, '', `${location.pathname}${location.search}`);
}

export function formatDate(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}
