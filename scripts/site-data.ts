/**
 * Writes the text slices the site ships in public/data/ (run with `npm exec -- tsx scripts/site-data.ts TEACHER.txt`):
 * - tinystories-valid-240.txt: the first 240 stories of ../shared's validation file (the explorers'
 *   held-out text; the first 40 are the embedded model's evaluation set);
 * - teacher-stories.txt: whole stories from the start of a sample-stories file, up to 400 kB (the
 *   in-page training text).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { splitStories } from '../src/engine/evaluate.ts';

const SEPARATOR = '\n<|endoftext|>\n';
const valid = splitStories(readFileSync('../shared/data/tinystories/tinystories_valid_first1000.txt', 'utf8')).slice(0, 240);
writeFileSync('public/data/tinystories-valid-240.txt', valid.join(SEPARATOR) + SEPARATOR);

const teacherFile = process.argv[2];
if (!teacherFile) throw new Error('usage: tsx scripts/site-data.ts TEACHER_STORIES.txt');
const kept: string[] = [];
let bytes = 0;
for (const story of splitStories(readFileSync(teacherFile, 'utf8'))) {
  bytes += Buffer.byteLength(story + SEPARATOR);
  if (bytes > 400_000) break;
  kept.push(story);
}
writeFileSync('public/data/teacher-stories.txt', kept.join(SEPARATOR) + SEPARATOR);
console.log(`${valid.length} validation stories, ${kept.length} teacher stories`);
