/**
 * The outside edges for timing a first job by hand, as a new user would run it: a git server
 * with a small Python repository whose test fails, and an OpenAI-compatible model that answers
 * with the fix. Prints the settings to start Kodah with, then serves until stopped.
 *
 *   npx tsx bench/first-job-edges.ts
 */
import { startFakeOpenAI } from '../test/helpers/fake-openai.js';
import { startGitHttpServer } from '../test/helpers/git-http-server.js';

const git = await startGitHttpServer();
git.createRepo('shop', {
  'shop/__init__.py': '',
  'shop/processor.py':
    'def calculate_total(items):\n    total = 0\n    for item in items:\n        total += item["price"]\n    return total\n',
  'tests/__init__.py': '',
  'tests/test_processor.py':
    'from shop.processor import calculate_total\n\n\ndef test_string_prices():\n    assert calculate_total([{"price": "1.50"}, {"price": 2}]) == 3.5\n',
  '.github/kodah.yml': 'test_command: python3 -m pytest -q\n',
});
const model = await startFakeOpenAI();
const fix =
  'Prices can arrive as strings.\n\nshop/processor.py\n<<<<<<< SEARCH\n        total += item["price"]\n=======\n        total += float(item["price"])\n>>>>>>> REPLACE\n';
model.reply(...Array.from({ length: 50 }, () => fix));
console.log(`OPENAI_BASE_URL=${model.baseUrl} OPENAI_API_KEY=sk-x KODAH_MODEL=fake KODAH_FIX_MODE=single-shot KODAH_ALLOW_LOCAL_GIT=1`);
console.log(`REPO=${git.url('shop')}`);
