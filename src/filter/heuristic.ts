/**
 * Local relevance scorer: how likely a passage describes multi-step operations with an app,
 * website, computer or machine, or a policy an agent enforces with one (refunds, cancellations,
 * account changes). No model call: one pass over the characters, words hashed on the fly (no
 * substring per word) and looked up in a small lexicon, line and sentence starts tracked with a
 * few flags. Well above 20 MB/s on one core (`bench/filter-bench.mjs`).
 *
 * The score is a logistic function of a weighted sum of features. Weights were set from what
 * the features mean (a first-person past-tense quote is news or narrative; "Click Save, then
 * restart" is a procedure; "we will refund you within 14 days" is a policy), and checked on
 * aggregate figures of the shared dev labels and the tune part of `test/fixtures/relevance`
 * (real pages, long and short); they are not fitted per passage. The table:
 *
 * | feature          | definition                                                       | weight |
 * |------------------|------------------------------------------------------------------|-------:|
 * | bias (baseline)  | what a text with no feature scores                               |  -3.2  |
 * | steps *          | ln(1 + numbered items + "Step N" references)                     |  +0.55 |
 * | bullets *        | ln(1 + bulleted items)                                           |  +0.25 |
 * | imperative *     | share of sentences/lines/items opening with an imperative verb   |  +3.0  |
 * | imperative_count*| ln(1 + imperative openings): many instructions count on a long   |  +0.2  |
 * |                  | page even where they are a small share of its lines              |        |
 * | sequence *       | ln(1 + sequence words per 100 words: first, then, next, finally)  |  +0.5  |
 * | conditional *    | ln(1 + conditionals per 100 words: if, unless, when, otherwise)   |  +0.7  |
 * | action           | ln(1 + interface/action verbs per 100 words: click, install...)   |  +0.8  |
 * | interface        | ln(1 + account/form/settings/app/file... nouns per 100 words)     |  +0.45 |
 * | code             | ln(1 + shell prompt / command / code lines)                      |  +0.45 |
 * | second_person *  | ln(1 + you/your per 100 words)                                   |  +0.35 |
 * | modal *          | ln(1 + must/should/need/cannot/required per 100 words)           |  +0.6  |
 * | past             | ln(1 + irregular past forms and was/were/had per 100 words)      |  -0.9  |
 * | past_ed          | ln(1 + -ed words per 100 words; not after is/has/been..., not     |  -0.25 |
 * |                  | the states of an order: booked, cancelled, refunded, charged...)  |        |
 * | first_person     | ln(1 + I/me/my per 100 words)                                    |  -0.7  |
 * | we               | ln(1 + we/our/us per 100 words)                                  |  -0.15 |
 * | service_voice *  | min(we rate, you rate): a service speaking to its customers      |  +0.5  |
 * | commitments *    | ln(1 + "we will", "we'll", "we may", "you must", "you can"... per |  +0.5  |
 * |                  | 100 words)                                                       |        |
 * | policy           | ln(1 + refund/fee/cancellation/eligible/deadline... per 100 words)|  +0.4  |
 * | deadlines        | ln(1 + "<number> days/weeks/months/years/business" per 100 words) |  +0.5  |
 * | promo            | ln(1 + innovative/excited/proud/mission/impact... per 100 words)  |  -0.8  |
 * | exclamations     | ln(1 + sentences ending in "!" per 100 words)                    |  -0.8  |
 * | quotes           | ln(1 + speech quotes per 100 words: an opening quote before a     |  -1.0  |
 * |                  | capital that does not close within 40 chars (UI labels do)       |        |
 * | reported_speech  | ln(1 + said/told/announced/according per 100 words)              |  -1.2  |
 * | news             | ln(1 + minister/parliament/election/million... per 100 words;     |  -0.8  |
 * |                  | not government or council, which service pages name)             |        |
 * | dialogue         | share of lines that are speaker tags ("KING HENRY:")             |  -8.0  |
 * | short            | 1 when the text has fewer than 25 words                          |  -1.0  |
 * | actors           | ln(1 + user/customer/agent/operator/member per 100 words)        |  +0.4  |
 * | expository       | ln(1 + because/however/therefore/instead... per 100 words)       |  -0.6  |
 *
 * (*) Shape of a procedure, scaled by how much the text is about a system: interface nouns,
 * action verbs, commands, actors and policy words per 100 words; at 2.5 or more the full
 * weight, at none 35% of it. A recipe or a workout has the shape of a procedure but no system.
 *
 * Long texts: the score is the higher of the whole text's and its best window's (about 2,000
 * characters, sliding by about 500 at line or sentence ends, from cumulative counts of the same
 * single pass), so that a workflow in one part of a long page is not diluted by the rest.
 *
 * The output is a plausibility, not a calibrated probability of any particular corpus: pick
 * cascade bands with `gemtraj filter eval` on labels from your own data.
 */

/**
 * Version of the scorer's features and weights, kept in a run's fingerprint: a run resumed under
 * another version would mix decisions made by two scorers. 2: best window, policy voice, system gate.
 */
export const HEURISTIC_VERSION = 2;

// ---------------------------------------------------------------------------------------------
// Lexicon

const F_IMPERATIVE = 1;
const F_ACTION = 2;
const F_SEQUENCE = 4;
const F_CONDITIONAL = 8;
const F_INTERFACE = 16;
const F_COMMAND = 32;
const F_SECOND = 64;
const F_MODAL = 128;
const F_PAST = 256;
const F_FIRST = 512;
const F_REPORT = 1024;
const F_NEWS = 2048;
const F_NOT_ED = 4096;
const F_STEP = 8192;
const F_EXPOSITORY = 16384;
const F_ACTOR = 32768;
const F_WE = 65536;
const F_AUX = 131072;
const F_POLICY = 262144;
const F_TIME_UNIT = 524288;
const F_COMMIT = 1048576;
const F_PROMO = 2097152;

const LEXICON: ReadonlyArray<readonly [number, string]> = [
  [
    F_IMPERATIVE,
    'ask check click select enter type press tap open close go navigate visit choose pick install uninstall ' +
      'run execute launch start stop restart reboot download upload save copy paste move delete remove add ' +
      'create make build set configure enable disable turn toggle switch change edit modify update upgrade use ' +
      'follow proceed verify confirm ensure validate review fill complete submit send call contact email provide ' +
      'collect obtain gather log sign register login connect disconnect plug unplug insert attach replace reset ' +
      'clear wait try repeat keep note remember find search look locate scroll drag drop tick uncheck write ' +
      'define specify declare import export publish deploy push pull commit clone fork merge activate deactivate ' +
      'apply book cancel pay transfer print scan place put take hold do don never always avoid escalate offer ' +
      'inform tell explain let see refer read consult identify determine record document test compile mount ' +
      'grant allow deny accept decline approve reject rename share invite assign schedule request return ' +
      'exchange refund double right fill browse specify generate install add inspect measure mix pour heat cut ' +
      'insert unlock lock charge',
  ],
  [
    F_ACTION,
    'click clicks clicking select selecting enter entering submit submitting upload uploading run running ' +
      'install installing installed type typing open opening tap tapping download downloading ' +
      'toggle enable disable navigate restart reboot configure uninstall launch execute activate reset browse ' +
      'scroll save paste login logout signup checkout',
  ],
  [F_SEQUENCE, 'first firstly then next finally afterwards afterward subsequently once before after until lastly'],
  [F_CONDITIONAL, 'if unless when whenever otherwise whether else'],
  [
    F_INTERFACE,
    'account accounts form forms settings setting command commands menu menus button buttons screen screens ' +
      'password passwords username login app apps application website site page tab tabs field fields option ' +
      'options terminal console profile dashboard browser window icon link file files folder folders directory ' +
      'device devices phone server database portal cart order orders payment reservation booking id email pin ' +
      'sim wifi network status toolbar dialog prompt shell script repository package packages library ' +
      'environment machine robot elevator printer keyboard mouse display',
  ],
  [
    F_COMMAND,
    'pip pip3 python python3 py git npm npx yarn pnpm docker kubectl sudo apt brew cd mkdir ls curl wget ' +
      'export source conda twine make cargo go java node bash sh ssh scp chmod chown systemctl pipx tox nox ' +
      'virtualenv venv poetry hatch uv rm cp mv cat echo gcc cmake',
  ],
  [F_SECOND, 'you your yours yourself yourselves'],
  [F_MODAL, 'must should need needs required requires cannot mustn shouldn'],
  [
    F_PAST,
    'was were had did said told went came took gave became began brought felt knew saw spoke stood thought ' +
      'wrote won grew rose fell led met ago yesterday',
  ],
  [F_FIRST, 'i me my mine myself'],
  [F_WE, 'we our ours us ourselves'],
  [F_REPORT, 'said says told announced stated according spokesperson spokesman spokeswoman remarked'],
  [
    F_NEWS,
    'minister ministers parliament parliamentary mp mps campaign election elections million billion percent ' +
      'economic economy prime president officials commons lords senator senators',
  ],
  [
    F_NOT_ED,
    'need speed indeed proceed succeed exceed embed feed seed bed red shed bleed breed deed heed based used ' +
      'required enabled disabled installed called named related limited detailed advanced supported selected ' +
      // Participles of the operations policies describe: "a cancelled flight", "refunded within 7 days".
      'booked cancelled canceled refunded charged billed credited debited delivered shipped ordered purchased ' +
      'returned exchanged processed approved declined denied rejected issued verified confirmed received expired ' +
      'reserved scheduled rescheduled submitted requested registered upgraded downgraded suspended blocked ' +
      'unlocked locked activated deactivated deleted archived closed opened signed logged linked assigned ' +
      'authorized authorised waived prorated applied accepted completed',
  ],
  [F_STEP, 'step'],
  // An -ed word after these is a passive or a perfect ("is cancelled", "has been refunded"): a state, not narration.
  [F_AUX, 'is are be been being was were get gets got has have had will would may can must should'],
  [
    F_POLICY,
    'refund refunds refundable nonrefundable cancel cancels cancellation cancellations fee fees charge charges ' +
      'eligible eligibility ineligible deadline deadlines policy policies subscription subscriptions billing ' +
      'invoice invoices receipt receipts credit credits voucher vouchers warranty exchange exchanges deposit ' +
      'penalty penalties waive waiver compensation reimbursement reimburse prorate proof certificate ' +
      'application applications appeal appeals dispute disputes claim claims',
  ],
  // Not minutes or hours: recipes and workouts time their steps in those.
  [
    F_PROMO,
    'innovative innovation innovators amazing exciting excited thrilled delighted proud passionate passion ' +
      'incredible awesome fantastic wonderful inspiring inspired mission vision values journey celebrate ' +
      'empower empowering transform transformation transformative impact impactful community communities ' +
      'cutting revolutionary world leading premier stunning beautiful love loved enjoy enjoyed success successful',
  ],
  [F_TIME_UNIT, 'day days week weeks month months year years business calendar working'],
  [
    F_EXPOSITORY,
    'because however although though therefore thus hence whereas rather instead moreover furthermore ' +
      'nevertheless nonetheless arguably historically typically generally',
  ],
  [
    F_ACTOR,
    'user users customer customers agent agents operator operators admin administrator administrators ' +
      'technician caller member members applicant applicants passenger passengers driver drivers',
  ],
];

/** 32-bit FNV-1a of the lower-cased word, the same function the scanner computes in its loop. */
function hashWord(word: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < word.length; i++) {
    h ^= lowerCode(word.charCodeAt(i));
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function lowerCode(c: number): number {
  return c >= 65 && c <= 90 ? c + 32 : c;
}

/**
 * Open-addressing hash table from a 32-bit word hash to its flags: typed arrays and linear
 * probing, several times faster than a Map in the scanner's inner loop. Key 0 marks an empty
 * slot (a word hashing to exactly 0 would simply not be found).
 */
class FlagTable {
  private readonly keys: Int32Array;
  private readonly values: Int32Array;
  private readonly mask: number;
  constructor(bits: number) {
    this.keys = new Int32Array(1 << bits);
    this.values = new Int32Array(1 << bits);
    this.mask = (1 << bits) - 1;
  }
  add(hash: number, flags: number): void {
    const key = hash | 0;
    if (key === 0) return;
    let i = (key ^ (key >>> 15)) & this.mask;
    while (this.keys[i] !== 0 && this.keys[i] !== key) i = (i + 1) & this.mask;
    this.keys[i] = key;
    this.values[i] = (this.values[i] as number) | flags;
  }
  get(hash: number): number {
    const key = hash | 0;
    let i = (key ^ (key >>> 15)) & this.mask;
    for (;;) {
      const k = this.keys[i] as number;
      if (k === key) return this.values[i] as number;
      if (k === 0) return 0;
      i = (i + 1) & this.mask;
    }
  }
}

const WORD_FLAGS = new FlagTable(12);
for (const [flag, words] of LEXICON) {
  for (const word of words.split(' ')) {
    if (word === '') continue;
    WORD_FLAGS.add(hashWord(word), flag);
  }
}

// Two-word phrases, keyed by a combination of the two word hashes.
const PHRASES = new FlagTable(8);
function phraseKey(a: number, b: number): number {
  return (Math.imul(a, 0x9e3779b1) ^ b) >>> 0;
}
for (const [flag, phrases] of [
  [F_ACTION, ['log in', 'sign in', 'sign up', 'log out', 'sign out', 'set up', 'click on', 'go to', 'navigate to', 'double click', 'right click']],
  [F_SEQUENCE, ['after that', 'and then', 'once you', 'when done', 'next step', 'the next']],
  [F_CONDITIONAL, ['in case', 'only if', 'as long']],
  [F_INTERFACE, ['user id', 'user name', 'e mail', 'text box', 'drop down', 'check box', 'home screen', 'control panel']],
  [F_NEWS, ['per cent', 'prime minister']],
  // A service or a procedure stating what will or must happen: "we will refund", "you must".
  [
    F_COMMIT,
    [
      'we will', 'we ll', 'we may', 'we can', 'we cannot', 'we won', 'we must', 'we would', 'we d', 'we reserve',
      'we need', 'we require', 'we delete', 'we charge', 'we refund', 'we don', 'we do', 'you will', 'you ll',
      'you must', 'you may', 'you can', 'you need', 'you should', 'you cannot', 'you won', 'you have',
    ],
  ],
] as const) {
  for (const phrase of phrases) {
    const [a, b] = phrase.split(' ') as [string, string];
    PHRASES.add(phraseKey(hashWord(a), hashWord(b)), flag);
  }
}

// ---------------------------------------------------------------------------------------------
// Feature extraction

/** Raw counts gathered in one pass. */
export interface HeuristicCounts {
  words: number;
  lines: number;
  sentences: number;
  numbered: number;
  bullets: number;
  stepRefs: number;
  imperatives: number;
  sequence: number;
  conditional: number;
  action: number;
  interface: number;
  codeLines: number;
  second: number;
  modal: number;
  past: number;
  pastEd: number;
  first: number;
  quotes: number;
  reported: number;
  news: number;
  speakerTags: number;
  expository: number;
  actors: number;
  /** we/our/us: a service speaking to its customers, or a narrator. */
  we: number;
  /** Refund, fee, cancellation, eligibility... words. */
  policy: number;
  /** A number followed by a time unit ("14 days", "1 hour", "30 calendar days"): a deadline or a window. */
  deadlines: number;
  /** "we will", "you must", "you can"...: what a service or a procedure says will or must happen. */
  commitments: number;
  /** Words of promotion and celebration: innovative, excited, proud, mission, impact... */
  promo: number;
  /** Sentences ending in "!". */
  exclamations: number;
}

/** Count fields, in one order, for differences between snapshots. */
const COUNT_KEYS = [
  'words', 'lines', 'sentences', 'numbered', 'bullets', 'stepRefs', 'imperatives', 'sequence', 'conditional',
  'action', 'interface', 'codeLines', 'second', 'modal', 'past', 'pastEd', 'first', 'quotes', 'reported', 'news',
  'speakerTags', 'expository', 'actors', 'we', 'policy', 'deadlines', 'commitments', 'promo', 'exclamations',
] as const satisfies ReadonlyArray<keyof HeuristicCounts>;

function zeroCounts(): HeuristicCounts {
  return {
    words: 0, lines: 0, sentences: 0, numbered: 0, bullets: 0, stepRefs: 0, imperatives: 0,
    sequence: 0, conditional: 0, action: 0, interface: 0, codeLines: 0, second: 0, modal: 0,
    past: 0, pastEd: 0, first: 0, quotes: 0, reported: 0, news: 0, speakerTags: 0, expository: 0,
    actors: 0, we: 0, policy: 0, deadlines: 0, commitments: 0, promo: 0, exclamations: 0,
  };
}

/** Counts of the text between two snapshots: `b - a`. */
function countsBetween(a: HeuristicCounts, b: HeuristicCounts): HeuristicCounts {
  const out = zeroCounts();
  for (const k of COUNT_KEYS) out[k] = b[k] - a[k];
  return out;
}

/** Cumulative counts at a character offset (a line or sentence end). */
interface Snapshot {
  at: number;
  counts: HeuristicCounts;
}

function isWordCode(c: number): boolean {
  const l = c | 32;
  if (l >= 97 && l <= 122) return true;
  // Letters of other scripts count as words (so non-English text has a word count), but
  // punctuation blocks (curly quotes, dashes, CJK punctuation) do not.
  return c >= 0xc0 && c !== 0xd7 && c !== 0xf7 && !(c >= 0x2000 && c <= 0x2bff) && !(c >= 0x3000 && c <= 0x303f) && c !== 0xfeff;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isUpper(c: number): boolean {
  return c >= 65 && c <= 90;
}

/** Counts every feature of `text` in a single pass. */
export function heuristicCounts(text: string): HeuristicCounts {
  return scan(text, 0).counts;
}

/**
 * The single pass. With `blockChars > 0` it also takes a snapshot of the cumulative counts at
 * the first line or sentence end after every `blockChars` characters, so that the counts of
 * any run of blocks (a window) are one subtraction away.
 */
function scan(text: string, blockChars: number): { counts: HeuristicCounts; snapshots: Snapshot[] } {
  const counts = zeroCounts();
  const snapshots: Snapshot[] = [];
  let nextSnapshot = blockChars > 0 ? blockChars : Number.POSITIVE_INFINITY;
  const snapshot = (at: number): void => {
    snapshots.push({ at, counts: { ...counts } });
    nextSnapshot = at + blockChars;
  };
  const n = text.length;
  let i = 0;
  let atLineStart = true;
  let sentenceStart = true;
  let prevHash = 0;
  let prevWasStep = false;
  let prevAux = false;
  // The token before the current word was a number ("14 days"), with only spaces between.
  let afterNumber = false;
  // Per-line state.
  let lineWords = 0;
  let lineLetters = 0;
  let lineUpper = 0;
  let lineCode = false;
  let lineHasContent = false;
  let lastNonSpace = 0;
  let indent = 0;

  const endLine = (): void => {
    if (lineHasContent) {
      counts.lines++;
      if (lineCode) counts.codeLines++;
      // "KING RICHARD III:" alone on its line: a speaker tag of a play or a transcript.
      if (lastNonSpace === 58 && lineWords > 0 && lineWords <= 4 && lineLetters >= 2 && lineUpper === lineLetters) counts.speakerTags++;
    }
    lineWords = 0;
    lineLetters = 0;
    lineUpper = 0;
    lineCode = false;
    lineHasContent = false;
    lastNonSpace = 0;
    indent = 0;
    atLineStart = true;
    sentenceStart = true;
    prevHash = 0;
  };

  while (i < n) {
    let c = text.charCodeAt(i);
    if (c === 10) {
      endLine();
      prevAux = false;
      afterNumber = false;
      i++;
      if (i >= nextSnapshot) snapshot(i);
      continue;
    }
    if (c === 32 || c === 9 || c === 13) {
      if (atLineStart) indent += c === 9 ? 4 : 1;
      i++;
      continue;
    }
    if (atLineStart) {
      atLineStart = false;
      lineHasContent = true;
      // List markers and prompts at the start of a line.
      if (isDigit(c)) {
        let j = i;
        while (j < n && j - i < 3 && isDigit(text.charCodeAt(j))) j++;
        const after = text.charCodeAt(j);
        if ((after === 46 || after === 41) && (text.charCodeAt(j + 1) === 32 || text.charCodeAt(j + 1) === 9)) {
          counts.numbered++;
          i = j + 2;
          sentenceStart = true;
          continue;
        }
      } else if ((c === 45 || c === 42 || c === 43 || c === 0x2022) && (text.charCodeAt(i + 1) === 32 || text.charCodeAt(i + 1) === 9)) {
        counts.bullets++;
        i += 2;
        sentenceStart = true;
        continue;
      } else if (c === 36 && text.charCodeAt(i + 1) === 32) {
        // "$ cmd": a shell prompt.
        lineCode = true;
        i += 2;
        sentenceStart = true;
        continue;
      } else if (c === 62 && text.charCodeAt(i + 1) === 32) {
        // "> text" is a Markdown quote as often as a prompt: a command word after it marks the
        // line as code (below), prose does not.
        i += 2;
        sentenceStart = true;
        continue;
      } else if (c === 62 && text.startsWith('>>> ', i)) {
        lineCode = true;
        i += 4;
        continue;
      } else if (c === 96 && text.startsWith('```', i)) {
        lineCode = true;
      }
      if (indent >= 4 && (c === 123 || c === 125 || c === 91 || c === 60 || c === 35 || c === 47)) lineCode = true;
    }
    if (isWordCode(c)) {
      let h = 0x811c9dc5;
      let len = 0;
      let upperFirst = isUpper(c);
      let last1 = 0;
      let last2 = 0;
      while (i < n) {
        c = text.charCodeAt(i);
        if (!isWordCode(c)) break;
        if (c < 128) {
          lineLetters++;
          if (isUpper(c)) lineUpper++;
        }
        const lc = lowerCode(c);
        h ^= lc;
        h = Math.imul(h, 0x01000193);
        last2 = last1;
        last1 = lc;
        len++;
        i++;
      }
      h >>>= 0;
      counts.words++;
      lineWords++;
      const flags = WORD_FLAGS.get(h);
      if (flags !== 0) {
        if (sentenceStart && (flags & F_IMPERATIVE) !== 0 && (upperFirst || lineWords === 1)) {
          // An imperative opens with a bare verb: "Click", "Ask the user". Skip "Open source",
          // "Run time" style compounds only as far as cheap checks allow: next char is a space.
          counts.imperatives++;
        }
        if ((flags & F_ACTION) !== 0) counts.action++;
        if ((flags & F_SEQUENCE) !== 0) counts.sequence++;
        if ((flags & F_CONDITIONAL) !== 0) counts.conditional++;
        if ((flags & F_INTERFACE) !== 0) counts.interface++;
        if ((flags & F_COMMAND) !== 0 && lineWords === 1 && !upperFirst) lineCode = true;
        if ((flags & F_SECOND) !== 0) counts.second++;
        if ((flags & F_MODAL) !== 0) counts.modal++;
        if ((flags & F_PAST) !== 0) counts.past++;
        if ((flags & F_WE) !== 0) counts.we++;
        if ((flags & F_PROMO) !== 0) counts.promo++;
        if ((flags & F_POLICY) !== 0) counts.policy++;
        if ((flags & F_TIME_UNIT) !== 0 && afterNumber) counts.deadlines++;
        if ((flags & F_FIRST) !== 0) {
          // "I" counts only as the capital pronoun, not as a roman numeral or list letter.
          if (len > 1 || upperFirst) counts.first++;
        }
        if ((flags & F_REPORT) !== 0) counts.reported++;
        if ((flags & F_NEWS) !== 0) counts.news++;
        if ((flags & F_EXPOSITORY) !== 0) counts.expository++;
        if ((flags & F_ACTOR) !== 0) counts.actors++;
      }
      if ((flags & F_NOT_ED) === 0 && !prevAux && len >= 5 && last2 === 101 && last1 === 100) counts.pastEd++;
      prevAux = (flags & F_AUX) !== 0;
      afterNumber = false;
      if (prevHash !== 0) {
        const phrase = PHRASES.get(phraseKey(prevHash, h));
        if (phrase !== 0) {
          if ((phrase & F_ACTION) !== 0) counts.action++;
          if ((phrase & F_SEQUENCE) !== 0) counts.sequence++;
          if ((phrase & F_CONDITIONAL) !== 0) counts.conditional++;
          if ((phrase & F_INTERFACE) !== 0) counts.interface++;
          if ((phrase & F_NEWS) !== 0) counts.news++;
          if ((phrase & F_COMMIT) !== 0) counts.commitments++;
        }
      }
      prevWasStep = (flags & F_STEP) !== 0;
      if (prevWasStep && text.charCodeAt(i) === 32 && isDigit(text.charCodeAt(i + 1))) counts.stepRefs++;
      prevHash = h;
      sentenceStart = false;
      upperFirst = false;
      lastNonSpace = text.charCodeAt(i - 1);
      continue;
    }
    // Punctuation and digits.
    lastNonSpace = c;
    if (isDigit(c)) {
      afterNumber = true;
      i++;
      continue;
    }
    afterNumber = false;
    prevAux = false;
    if (c === 46 || c === 33 || c === 63) {
      const next = text.charCodeAt(i + 1);
      if (next === 32 || next === 10 || next === 13 || next === 9 || i + 1 >= n) {
        counts.sentences++;
        if (c === 33) counts.exclamations++;
        sentenceStart = true;
        prevHash = 0;
        if (i + 1 >= nextSnapshot) snapshot(i + 1);
      }
    } else if (c === 58 || c === 59) {
      // "Note: run it" and "If so: click" open a new clause.
      const next = text.charCodeAt(i + 1);
      if (next === 32) sentenceStart = true;
      prevHash = 0;
    } else if (c === 34 || c === 0x201c || c === 0x2018) {
      // An opening speech quote: after a space or line start, before a capital letter.
      const before = i === 0 ? 32 : text.charCodeAt(i - 1);
      const after = text.charCodeAt(i + 1);
      // Short quoted capitals are UI labels ("No Service", "Save"); speech runs longer.
      if ((before === 32 || before === 10 || before === 58 || before === 9) && isUpper(after) && !closesWithin(text, i + 1, c, 40)) counts.quotes++;
    } else if (c === 42 || c === 95) {
      // Emphasis markers do not end a sentence start ("**Click** Save").
    } else if (c === 44 || c === 40 || c === 41) {
      prevHash = 0;
    }
    i++;
  }
  endLine();
  return { counts, snapshots };
}

/** True when the quote opened at `from - 1` closes within `limit` characters on the same line. */
function closesWithin(text: string, from: number, open: number, limit: number): boolean {
  const close = open === 34 ? 34 : open === 0x201c ? 0x201d : 0x2019;
  const end = Math.min(text.length, from + limit);
  for (let j = from; j < end; j++) {
    const c = text.charCodeAt(j);
    if (c === close) return true;
    if (c === 10) return false;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Scoring

/** Weights of the logistic combination; see the table at the top of this file. */
export const HEURISTIC_WEIGHTS = {
  bias: -3.2,
  steps: 0.55,
  bullets: 0.25,
  imperative: 3.0,
  imperative_count: 0.2,
  sequence: 0.5,
  conditional: 0.7,
  action: 0.8,
  interface: 0.45,
  code: 0.45,
  second_person: 0.35,
  modal: 0.6,
  past: -0.9,
  past_ed: -0.25,
  first_person: -0.7,
  we: -0.15,
  service_voice: 0.5,
  policy: 0.4,
  deadlines: 0.5,
  commitments: 0.5,
  promo: -0.8,
  exclamations: -0.8,
  quotes: -1.0,
  reported_speech: -1.2,
  news: -0.8,
  dialogue: -8.0,
  short: -1.0,
  actors: 0.4,
  expository: -0.6,
} as const;

export type HeuristicFeatureName = Exclude<keyof typeof HEURISTIC_WEIGHTS, 'bias'>;

/**
 * Words that tie a text to a system: interface nouns, interface verbs, commands, actors
 * (user, agent, customer) and policy terms. Per 100 words, at which a text counts as fully
 * about a system; below it the shape features of a procedure (numbered steps, imperatives,
 * sequence words) count for less, so that a recipe or a workout is not taken for a workflow.
 */
const SYSTEM_RATE_FULL = 2.5;
/** Share of the shape features a text with no system word keeps. */
const SHAPE_FLOOR = 0.35;

/** Feature values (before weighting) from raw counts. */
export function heuristicFeatures(counts: HeuristicCounts): Record<HeuristicFeatureName, number> {
  const per100 = 100 / Math.max(counts.words, 20);
  const rate = (k: number): number => Math.log1p(k * per100);
  // Every line, list item and sentence can open with an imperative; count the larger base.
  const openings = Math.max(counts.sentences, counts.lines, 1);
  const systemRate = (counts.interface + counts.action + counts.codeLines + counts.actors + counts.policy) * per100;
  const shape = SHAPE_FLOOR + (1 - SHAPE_FLOOR) * Math.min(1, systemRate / SYSTEM_RATE_FULL);
  return {
    steps: shape * Math.log1p(counts.numbered + counts.stepRefs),
    bullets: shape * Math.log1p(counts.bullets),
    imperative: shape * Math.min(1, counts.imperatives / openings),
    imperative_count: shape * Math.log1p(counts.imperatives),
    sequence: shape * rate(counts.sequence),
    conditional: shape * rate(counts.conditional),
    action: rate(counts.action),
    interface: rate(counts.interface),
    code: Math.log1p(counts.codeLines),
    second_person: shape * rate(counts.second),
    modal: shape * rate(counts.modal),
    past: rate(counts.past),
    past_ed: rate(counts.pastEd),
    first_person: rate(counts.first),
    we: rate(counts.we),
    // "We will refund you": a service stating what it does for its customers.
    service_voice: shape * Math.min(rate(counts.we), rate(counts.second)),
    policy: rate(counts.policy),
    deadlines: rate(counts.deadlines),
    commitments: shape * rate(counts.commitments),
    promo: rate(counts.promo),
    exclamations: rate(counts.exclamations),
    quotes: rate(counts.quotes),
    reported_speech: rate(counts.reported),
    news: rate(counts.news),
    dialogue: counts.lines === 0 ? 0 : counts.speakerTags / counts.lines,
    short: counts.words < 25 ? 1 : 0,
    actors: rate(counts.actors),
    expository: rate(counts.expository),
  };
}

function logitOf(features: Record<HeuristicFeatureName, number>): number {
  let logit: number = HEURISTIC_WEIGHTS.bias;
  for (const name of Object.keys(features) as HeuristicFeatureName[]) logit += HEURISTIC_WEIGHTS[name] * features[name];
  return logit;
}

/**
 * A long page is scored by its best window as well as as a whole, so that a workflow in one
 * part of a page is not diluted by the rest: about this many characters per window...
 */
export const HEURISTIC_WINDOW_CHARS = 2000;
/** ...made of blocks of about this many characters (a window slides by one block). */
const BLOCK_CHARS = 500;

/** The part of the text whose counts gave the score. */
export interface HeuristicSpan {
  start: number;
  end: number;
}

interface Scored {
  logit: number;
  counts: HeuristicCounts;
  features: Record<HeuristicFeatureName, number>;
  /** Set when a window scored higher than the whole text. */
  window?: HeuristicSpan;
}

/** The whole text's logit, or its best window's when higher. One pass over the characters. */
function scoreText(text: string): Scored {
  const long = text.length > HEURISTIC_WINDOW_CHARS + BLOCK_CHARS;
  const { counts, snapshots } = scan(text, long ? BLOCK_CHARS : 0);
  const features = heuristicFeatures(counts);
  let best: Scored = { logit: logitOf(features), counts, features };
  if (!long) return best;
  // Boundaries: the start, every snapshot, the end.
  const bounds: Snapshot[] = [{ at: 0, counts: zeroCounts() }, ...snapshots, { at: text.length, counts }];
  let j = 1;
  for (let i = 0; i < bounds.length - 1; i++) {
    const from = bounds[i] as Snapshot;
    if (j <= i) j = i + 1;
    while (j < bounds.length - 1 && (bounds[j] as Snapshot).at - from.at < HEURISTIC_WINDOW_CHARS) j++;
    const to = bounds[j] as Snapshot;
    // The whole text is already scored.
    if (i === 0 && j === bounds.length - 1) break;
    const windowCounts = countsBetween(from.counts, to.counts);
    const windowFeatures = heuristicFeatures(windowCounts);
    const logit = logitOf(windowFeatures);
    if (logit > best.logit) best = { logit, counts: windowCounts, features: windowFeatures, window: { start: from.at, end: to.at } };
    if (j === bounds.length - 1) break;
  }
  return best;
}

/** The scorer's decision for one text, with each feature's contribution to the logit. */
export interface HeuristicExplanation {
  score: number;
  logit: number;
  /** The constant term of the logit: what a text with no feature at all scores. */
  baseline: number;
  contributions: Record<HeuristicFeatureName, number>;
  /** Counts of the part that was scored (the best window when `window` is set, else the whole text). */
  counts: HeuristicCounts;
  /** The window that scored higher than the whole text, when one did. */
  window?: HeuristicSpan;
}

export function explainHeuristic(text: string): HeuristicExplanation {
  const scored = scoreText(text);
  const contributions = {} as Record<HeuristicFeatureName, number>;
  for (const name of Object.keys(scored.features) as HeuristicFeatureName[]) contributions[name] = HEURISTIC_WEIGHTS[name] * scored.features[name];
  const explanation: HeuristicExplanation = {
    score: sigmoid(scored.logit),
    logit: scored.logit,
    baseline: HEURISTIC_WEIGHTS.bias,
    contributions,
    counts: scored.counts,
  };
  if (scored.window !== undefined) explanation.window = scored.window;
  return explanation;
}

/** Relevance score in [0, 1] of `text` (see the file header). */
export function heuristicScore(text: string): number {
  return sigmoid(scoreText(text).logit);
}

export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}
