// Throughput of the rule validator on realistic refined trajectories (46 messages, 10 tools,
// 15 tool calls with one parallel pair, JSON tool results, a long system prompt), i.e. the
// paper's refined-data averages. Run after `npm run build`:
//   node bench/validate-bench.mjs [count=5000] [rounds=3]
// Prints trajectories/second and MB/s (of the records' JSON text) for validation alone and
// for JSON.parse + validation, with default options (argument_provenance in warn mode).
import { validateTrajectory, SchemaCache } from '../dist/validate/index.js';

const count = Number(process.argv[2] ?? 5000);
const rounds = Number(process.argv[3] ?? 3);

// Deterministic PRNG so runs are comparable.
let seed = 0x2545f491;
function rand() {
  seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5;
  return (seed >>> 0) / 4294967296;
}
const pick = (xs) => xs[Math.floor(rand() * xs.length)];
const digits = (n) => Array.from({ length: n }, () => Math.floor(rand() * 10)).join('');

const TOOLS = [
  ['authenticate_user', { email: { type: 'string', format: 'email' }, zip_code: { type: 'string', pattern: '^\\d{5}$' } }, ['email', 'zip_code'], false],
  ['get_user_profile', { user_id: { type: 'string' } }, ['user_id'], true],
  ['list_orders', { user_id: { type: 'string' }, status: { type: 'string', enum: ['pending', 'processing', 'shipped', 'delivered', 'cancelled'] }, limit: { type: 'integer', minimum: 1, maximum: 50 } }, ['user_id'], true],
  ['get_order_details', { order_id: { type: 'string', pattern: '^#W\\d{7}$' } }, ['order_id'], true],
  ['return_items', { order_id: { type: 'string' }, item_ids: { type: 'array', items: { type: 'string' }, minItems: 1 }, payment_method_id: { type: 'string' }, pickup_date: { type: 'string', format: 'date' }, reason: { type: 'string' } }, ['order_id', 'item_ids', 'payment_method_id'], false],
  ['update_shipping_address', { order_id: { type: 'string' }, address: { type: 'object', properties: { address1: { type: 'string' }, city: { type: 'string' }, state: { type: 'string' }, zip: { type: 'string' } }, required: ['address1', 'city', 'state', 'zip'], additionalProperties: false } }, ['order_id', 'address'], true],
  ['search_products', { query: { type: 'string' }, max_price: { type: 'number' }, max_results: { type: 'integer', minimum: 1, maximum: 20 } }, ['query'], true],
  ['get_product_details', { product_id: { type: 'string' } }, ['product_id'], true],
  ['cancel_order', { order_id: { type: 'string' }, reason: { type: 'string', enum: ['no longer needed', 'ordered by mistake'] } }, ['order_id', 'reason'], false],
  ['transfer_to_human_agent', { summary: { type: 'string' } }, ['summary'], true],
].map(([name, properties, required, open]) => ({
  type: 'function',
  function: {
    name,
    description: `${name.replace(/_/g, ' ')} for the store's customers.`,
    parameters: { type: 'object', properties, required, ...(open ? {} : { additionalProperties: false }) },
  },
}));

const SYSTEM = `You are the support agent of VoltMart, an online electronics store. The current date is 2024-05-28.\n` +
  Array.from({ length: 14 }, (_, i) => `- Rule ${i + 1}: ${'authenticate users, confirm changes, respect return windows and never invent identifiers. '.repeat(2)}`).join('\n');

function call(id, name, args) {
  return { id, type: 'function', function: { name, arguments: JSON.stringify(args) } };
}

function makeTrajectory(n) {
  const user = `user_${digits(6)}`;
  const email = `${user}@example.com`;
  const zip = digits(5);
  const orders = Array.from({ length: 3 }, () => `#W${digits(7)}`);
  const items = Array.from({ length: 4 }, () => `item_${digits(5)}`);
  const products = Array.from({ length: 4 }, () => `prod_${digits(4)}`);
  const card = `credit_card_${digits(7)}`;
  const messages = [{ role: 'system', content: SYSTEM }];
  let callN = 0;
  const id = () => `call_${n}_${callN++}`;
  const orderJson = (o) => JSON.stringify({
    order_id: o, user_id: user, status: pick(['processing', 'delivered', 'shipped']), placed_at: '2024-05-02T10:11:00',
    items: items.slice(0, 3).map((it, k) => ({ item_id: it, product_id: products[k], name: `Product ${it}`, price: 10 + k * 7.5, options: { color: pick(['black', 'white']), warranty: '1 year' } })),
    shipping_address: { address1: `${digits(3)} Oak Lane`, city: 'Oakland', state: 'CA', zip: '94607' },
    payment_history: [{ payment_id: card, amount: 212.49 }],
  });
  // Episode: user asks, assistant calls twice (each answered), assistant answers.
  const episode = (say, first, second) => {
    messages.push({ role: 'user', content: say });
    for (const [name, args, result] of [first, second]) {
      const cid = id();
      messages.push({ role: 'assistant', content: null, tool_calls: [call(cid, name, args)] });
      messages.push({ role: 'tool', tool_call_id: cid, name, content: result });
    }
    messages.push({ role: 'assistant', content: `Here is what I found about ${first[0].replace(/_/g, ' ')} and ${second[0].replace(/_/g, ' ')}: everything is in order. ${'Details follow in the summary. '.repeat(4)}` });
  };
  episode(`Hi, I need help with my orders. My email is ${email} and my zip is ${zip}.`,
    ['authenticate_user', { email, zip_code: zip }, JSON.stringify({ user_id: user, authenticated: true })],
    ['get_user_profile', { user_id: user }, JSON.stringify({ user_id: user, email, payment_methods: [{ id: card, brand: 'visa', last_four: digits(4) }], address: { address1: '12 Oak Lane', city: 'Oakland', state: 'CA', zip: '94607' } })]);
  episode('Which of my orders were delivered? Show me the details of the first one.',
    ['list_orders', { user_id: user, status: 'delivered', limit: 5 }, JSON.stringify({ orders: orders.map((o) => ({ order_id: o, status: 'delivered', total: 212.49 })) })],
    ['get_order_details', { order_id: orders[0] }, orderJson(orders[0])]);
  episode(`And the other two, ${orders[1]} and ${orders[2]}?`,
    ['get_order_details', { order_id: orders[1] }, orderJson(orders[1])],
    ['get_order_details', { order_id: orders[2] }, orderJson(orders[2])]);
  episode('I want to return the first item of the first order to my card, pickup on June 4. And what is the second product?',
    ['return_items', { order_id: orders[0], item_ids: [items[0]], payment_method_id: card, pickup_date: '2024-06-04', reason: 'Stopped working after a week' }, JSON.stringify({ return_id: `ret_${digits(5)}`, status: 'pickup_scheduled', refund: 10 })],
    ['get_product_details', { product_id: products[1] }, JSON.stringify({ product_id: products[1], name: 'Cable', price: 17.5, features: ['usb-c', '2 m', 'braided'], stock: 31 })]);
  episode('Find me wireless headphones under 150 dollars, 5 results.',
    ['search_products', { query: 'wireless headphones', max_price: 150, max_results: 5 }, JSON.stringify({ results: products.map((p, k) => ({ product_id: p, name: `Headphones ${k}`, price: 89 + k * 10, in_stock: true, rating: 4.1 + k / 10 })) })],
    ['get_product_details', { product_id: products[2] }, JSON.stringify({ product_id: products[2], name: 'Headphones 2', price: 109, battery_hours: 30, features: ['anc', 'bluetooth 5.3'] })]);
  episode(`Please cancel ${orders[1]}, I no longer need it. Then check it again.`,
    ['cancel_order', { order_id: orders[1], reason: 'no longer needed' }, JSON.stringify({ order_id: orders[1], status: 'cancelled' })],
    ['get_order_details', { order_id: orders[1] }, orderJson(orders[1])]);
  // One parallel pair.
  messages.push({ role: 'user', content: `Ship ${orders[2]} to 55 Valencia Street, San Francisco, CA 94103 and show my profile.` });
  const a = id(); const b = id();
  messages.push({ role: 'assistant', content: 'Doing both now.', tool_calls: [
    call(a, 'update_shipping_address', { order_id: orders[2], address: { address1: '55 Valencia Street', city: 'San Francisco', state: 'CA', zip: '94103' } }),
    call(b, 'get_user_profile', { user_id: user }),
  ] });
  messages.push({ role: 'tool', tool_call_id: a, name: 'update_shipping_address', content: JSON.stringify({ order_id: orders[2], status: 'processing' }) });
  messages.push({ role: 'tool', tool_call_id: b, name: 'get_user_profile', content: JSON.stringify({ user_id: user, email }) });
  messages.push({ role: 'assistant', content: 'Both done.' });
  // Last: one call then the final answer.
  messages.push({ role: 'user', content: 'Thanks. Hand me to a human for the warranty question.' });
  const c = id();
  messages.push({ role: 'assistant', content: null, tool_calls: [call(c, 'transfer_to_human_agent', { summary: 'Customer asks about warranty terms of a returned item.' })] });
  messages.push({ role: 'tool', tool_call_id: c, name: 'transfer_to_human_agent', content: JSON.stringify({ ok: true, queue: 'warranty' }) });
  messages.push({ role: 'assistant', content: 'You are now being transferred to a human agent. Have a nice day!' });
  return { id: `traj_${n}`, source: { doc_id: `doc_${n % 97}` }, tools: TOOLS, messages, meta: { stage: 'refined' } };
}

const lines = Array.from({ length: count }, (_, i) => JSON.stringify(makeTrajectory(i)));
const bytes = lines.reduce((s, l) => s + Buffer.byteLength(l), 0);
const sample = JSON.parse(lines[0]);
const calls = sample.messages.reduce((s, m) => s + (m.tool_calls?.length ?? 0), 0);
console.log(`${count} trajectories: ${sample.messages.length} messages, ${sample.tools.length} tools, ${calls} calls, ${(bytes / count / 1024).toFixed(1)} KB each`);

// Sanity: the generated data is clean, so the bench measures the normal path.
const check = validateTrajectory(sample);
if (check.errors.length + check.warnings.length > 0) {
  console.error('generated trajectory is not clean:', JSON.stringify(check, null, 1));
  process.exit(1);
}

function run(label, options, withParse) {
  let best = Infinity;
  for (let r = 0; r < rounds; r++) {
    const objects = withParse ? null : lines.map((l) => JSON.parse(l)); // fresh objects each round
    const t0 = process.hrtime.bigint();
    let problems = 0;
    for (let i = 0; i < count; i++) {
      const value = withParse ? JSON.parse(lines[i]) : objects[i];
      const res = validateTrajectory(value, options);
      problems += res.errors.length + res.warnings.length;
    }
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    if (problems !== 0) throw new Error(`unexpected findings: ${problems}`);
    best = Math.min(best, s);
  }
  console.log(`${label.padEnd(44)} ${Math.round(count / best).toString().padStart(7)} traj/s  ${(bytes / 1e6 / best).toFixed(1).padStart(6)} MB/s`);
}

const shared = { schemaCache: new SchemaCache(1024) };
run('validate (defaults, provenance warn)', shared, false);
run('JSON.parse + validate (defaults)', shared, true);
run('validate, provenance off', { ...shared, argumentProvenance: 'off' }, false);
