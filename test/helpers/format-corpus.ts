/**
 * A small corpus written for the input-format tests: texts with what breaks naive readers
 * (commas, quotes, tabs, blank lines, multi-line text, non-ASCII, a long document that splits
 * into several segments). `test/fixtures/format-corpus.jsonl.zst` holds {@link corpusJsonl}
 * compressed by the `zstd` CLI as two frames (lines 1–3, then 4–6), as `zstd` writes for
 * concatenated parts. After changing the corpus, regenerate it:
 * `head -3 c.jsonl | zstd > a.zst; tail -n +4 c.jsonl | zstd > b.zst; cat a.zst b.zst > test/fixtures/format-corpus.jsonl.zst`.
 */
export interface CorpusDoc {
  id: string;
  text: string;
  url: string;
}

const STEPS = [
  'Open Settings, then choose "Accounts & Sync".',
  'Tap the account you want to remove; a dialog asks "Remove account?".',
  'Confirm with Remove — the app signs out within a few seconds.',
  'If the button is grey, close the app, reopen it, and try again.',
  'Café owners: export the menu first (File → Export → CSV, comma-separated).',
];

function longGuide(): string {
  const sections: string[] = [];
  for (let s = 1; s <= 30; s++) {
    sections.push(`## Step ${s}: configure the device\n\n${STEPS.map((line, i) => `${i + 1}. ${line} (section ${s})`).join('\n')}\n\nWhen step ${s} is done, the status light turns green; keep the receipt.`);
  }
  return `# Setting up the router\n\n${sections.join('\n\n')}`;
}

export const FORMAT_CORPUS: CorpusDoc[] = [
  { id: 'guide-001', text: `# Remove an account\n\n${STEPS.join('\n')}`, url: 'https://help.example.org/accounts/remove' },
  { id: 'guide-002', text: 'To reset a password, open the login page, click "Forgot password", type your e-mail, and follow the link we send.\n\nThe link expires after 24 hours.', url: 'https://help.example.org/password' },
  { id: 'note-003', text: 'Tabs\tand "quotes", commas, and a backslash \\ are all text.\nSecond line; third: ünïcödé, 日本語, emoji 🚀.', url: 'https://example.org/notes/3' },
  { id: 'guide-004', text: longGuide(), url: 'https://help.example.org/router' },
  { id: 'story-005', text: 'The river was quiet that morning. Nobody spoke of the storm, though everyone had heard it in the night.', url: 'https://stories.example.net/river' },
  { id: 'guide-006', text: '1. Log in to the portal.\n2. Choose Billing > Invoices.\n3. Select the invoice, then Download PDF.\n\n"Download" may be called "Save" in older versions.', url: 'https://portal.example.com/help/invoices' },
];

/** The corpus as JSON Lines (`{id, text, url}` per line). */
export function corpusJsonl(): string {
  return FORMAT_CORPUS.map((d) => JSON.stringify({ id: d.id, text: d.text, url: d.url })).join('\n') + '\n';
}
