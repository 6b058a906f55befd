// Oracle of the WordPiece parity tests and benchmark: HF tokenizers' BERT WordPiece pipeline (the
// npm binding of the Rust library), assembled as BertWordPieceTokenizer does: BertNormalizer
// (clean text, CJK characters apart, strip accents and lowercase when uncased), BertPreTokenizer,
// WordPiece with [UNK] and "##", and BertProcessing for [CLS] ... [SEP].
//
// Usage: node wordpiece_oracle.js VOCAB INPUT OUTPUT [--lowercase] [--add-special]
//            [--max-chars-per-word N] [--bench]
// INPUT is split on '\n' (no final empty line); OUTPUT gets one line of space-separated ids per
// input line. With --bench nothing is written: the time spent encoding is printed as
// "seconds WALL cpu_seconds CPU" (CPU of the whole process, the library's threads included).
'use strict';

const fs = require('fs');
const path = require('path');

function loadTokenizers() {
  try {
    return require(path.join(__dirname, 'node_modules', 'tokenizers'));
  } catch (e) {
    process.stderr.write('tokenizers npm package missing: run npm ci --prefix tests/oracles\n');
    process.exit(3);
  }
}

async function main() {
  const args = process.argv.slice(2);
  const positional = [];
  let lowercase = false;
  let addSpecial = false;
  let bench = false;
  let maxChars = 100;
  for (let i = 0; i < args.length; ++i) {
    if (args[i] === '--lowercase') lowercase = true;
    else if (args[i] === '--add-special') addSpecial = true;
    else if (args[i] === '--bench') bench = true;
    else if (args[i] === '--max-chars-per-word') maxChars = parseInt(args[++i], 10);
    else positional.push(args[i]);
  }
  if (positional.length !== 3) {
    process.stderr.write('usage: wordpiece_oracle.js VOCAB INPUT OUTPUT [options]\n');
    process.exit(2);
  }
  const [vocabPath, inputPath, outputPath] = positional;
  const t = loadTokenizers();
  const model = await t.WordPiece.fromFile(vocabPath, {
    unkToken: '[UNK]',
    continuingSubwordPrefix: '##',
    maxInputCharsPerWord: maxChars,
  });
  const tokenizer = new t.Tokenizer(model);
  tokenizer.setNormalizer(t.bertNormalizer({
    cleanText: true,
    handleChineseChars: true,
    stripAccents: lowercase,
    lowercase: lowercase,
  }));
  tokenizer.setPreTokenizer(t.bertPreTokenizer());
  if (addSpecial) {
    const cls = tokenizer.tokenToId('[CLS]');
    const sep = tokenizer.tokenToId('[SEP]');
    tokenizer.setPostProcessor(t.bertProcessing(['[SEP]', sep], ['[CLS]', cls]));
  }

  const data = fs.readFileSync(inputPath).toString('utf8');
  const lines = data.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();

  const start = process.hrtime.bigint();
  const cpuStart = process.cpuUsage();
  const out = [];
  for (const line of lines) {
    const encoding = await tokenizer.encode(line, null, {addSpecialTokens: addSpecial});
    if (!bench) out.push(encoding.getIds().join(' '));
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const cpu = process.cpuUsage(cpuStart);
  if (bench) {
    process.stdout.write(`seconds ${seconds} cpu_seconds ${(cpu.user + cpu.system) / 1e6}\n`);
  } else {
    fs.writeFileSync(outputPath, out.length > 0 ? out.join('\n') + '\n' : '');
  }
}

main().catch((e) => {
  process.stderr.write(String(e && e.stack ? e.stack : e) + '\n');
  process.exit(1);
});
