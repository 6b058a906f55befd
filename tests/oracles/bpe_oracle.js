// Oracles of the byte-level BPE parity tests and benchmark: OpenAI's tiktoken (the npm package, its
// Rust core compiled to WebAssembly) with the encodings it ships as data (cl100k_base, o200k_base,
// r50k_base, p50k_base, gpt2), and HF tokenizers (the npm binding of the Rust library) loading a
// tokenizer.json built from those ranks.
//
// Usage:
//   node bpe_oracle.js export ENCODING OUT.tiktoken
//       write the encoding's ranks as a standard .tiktoken file ("base64 rank" per line)
//   node bpe_oracle.js export-gpt2 ENCODING VOCAB.json MERGES.txt
//       write them as GPT-2's vocab.json (tokens in the byte-level alphabet) and merges.txt (for
//       each token of rank >= 256, in rank order, the two parts tiktoken's merge makes of it)
//   node bpe_oracle.js export-tokenizer-json ENCODING OUT.json
//       write a tokenizer.json in Llama 3's layout: the encoding's regex as a Split pre-tokenizer,
//       ByteLevel without its own regex, a BPE model with ignore_merges (a piece that is a token
//       is that token, as tiktoken does) and the merges of export-gpt2
//   node bpe_oracle.js encode ENCODING INPUT OUTPUT [--allow-special] [--bench]
//       INPUT holds documents separated by NUL bytes, read as UTF-8 (an invalid sequence becomes
//       U+FFFD, as TextDecoder does); OUTPUT gets one line of space-separated ids per document.
//       Without --allow-special a literal special token is ordinary text (encode_ordinary);
//       with it every special token of the encoding is its id. --bench writes nothing and prints
//       "seconds WALL cpu_seconds CPU" for the encoding alone.
//   node bpe_oracle.js encode-hf TOKENIZER_JSON INPUT OUTPUT [--bench]
//       the same with HF tokenizers loading TOKENIZER_JSON (no special tokens added)
'use strict';

const fs = require('fs');

function load(encoding) {
  try {
    const from = { paths: [__dirname] };
    const { Tiktoken } = require(require.resolve('tiktoken/lite', from));
    const data = require(require.resolve('tiktoken/encoders/' + encoding + '.json', from));
    return { Tiktoken, data };
  } catch (e) {
    process.stderr.write('tiktoken npm package missing: run npm ci --prefix tests/oracles\n' +
                         e.message + '\n');
    process.exit(3);
  }
}

/// [bytes (Buffer), rank] of every token, in rank order.
function ranks(data) {
  const out = [];
  for (const line of data.bpe_ranks.split('\n')) {
    if (!line) continue;
    const [, offset, ...tokens] = line.split(' ');
    tokens.forEach((token, i) => out.push([Buffer.from(token, 'base64'), parseInt(offset, 10) + i]));
  }
  out.sort((a, b) => a[1] - b[1]);
  return out;
}

function byteLevelAlphabet() {
  const alphabet = [];
  let next = 256;
  for (let b = 0; b < 256; ++b) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || b >= 0xae;
    alphabet.push(String.fromCodePoint(printable ? b : next++));
  }
  return alphabet;
}

/// GPT-2's vocab (byte-level strings to ids) and merges ("left right") of an encoding.
function gpt2Files(data) {
  const all = ranks(data);
  const rankOf = new Map(all.map(([bytes, rank]) => [bytes.toString('latin1'), rank]));
  const alphabet = byteLevelAlphabet();
  const show = (bytes) => Array.from(bytes, (b) => alphabet[b]).join('');
  const vocab = {};
  for (const [bytes, rank] of all) vocab[show(bytes)] = rank;
  for (const [text, id] of Object.entries(data.special_tokens)) vocab[text] = id;
  const merges = ['#version: 0.2'];
  for (const [bytes, rank] of all) {
    if (bytes.length < 2) continue;
    // tiktoken's merge of the token's bytes with the ranks below its own: two parts remain.
    let parts = Array.from(bytes, (b) => Buffer.from([b]));
    for (;;) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i + 1 < parts.length; ++i) {
        const r = rankOf.get(Buffer.concat([parts[i], parts[i + 1]]).toString('latin1'));
        if (r !== undefined && r < rank && r < bestRank) { bestRank = r; best = i; }
      }
      if (best < 0) break;
      parts.splice(best, 2, Buffer.concat([parts[best], parts[best + 1]]));
    }
    if (parts.length !== 2) throw new Error('token of rank ' + rank + ' does not split in two');
    merges.push(show(parts[0]) + ' ' + show(parts[1]));
  }
  return { vocab, merges };
}

function exportGpt2(data, vocabPath, mergesPath) {
  const { vocab, merges } = gpt2Files(data);
  fs.writeFileSync(vocabPath, JSON.stringify(vocab));
  fs.writeFileSync(mergesPath, merges.join('\n') + '\n');
}

function exportTokenizerJson(data, outPath) {
  const { vocab, merges } = gpt2Files(data);
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [],
    normalizer: null,
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: data.pat_str }, behavior: 'Isolated', invert: false },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null,
      end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: true,
      vocab, merges: merges.slice(1),
    },
  };
  fs.writeFileSync(outPath, JSON.stringify(tokenizer));
}

async function encodeHf(tokenizerPath, inputPath, outputPath, bench) {
  let tokenizers;
  try {
    tokenizers = require(require.resolve('tokenizers', { paths: [__dirname] }));
  } catch (e) {
    process.stderr.write('tokenizers npm package missing: run npm ci --prefix tests/oracles\n');
    process.exit(3);
  }
  const tokenizer = tokenizers.Tokenizer.fromFile(tokenizerPath);
  const docs = fs.readFileSync(inputPath, 'utf8').split('\0');
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const out = [];
  for (const doc of docs) {
    const encoding = await tokenizer.encode(doc, null, { addSpecialTokens: false });
    if (!bench) out.push(encoding.getIds().join(' '));
  }
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  if (bench) {
    process.stdout.write(`seconds ${wall} cpu_seconds ${(cpu.user + cpu.system) / 1e6}\n`);
  } else {
    fs.writeFileSync(outputPath, out.join('\n') + '\n');
  }
}

async function main() {
  const args = process.argv.slice(2);
  const flags = new Set(args.filter((a) => a.startsWith('--')));
  const positional = args.filter((a) => !a.startsWith('--'));
  const [command, encoding] = positional;
  if (command === 'encode-hf') {
    await encodeHf(positional[1], positional[2], positional[3], flags.has('--bench'));
    return;
  }
  const { Tiktoken, data } = load(encoding);
  if (command === 'export-tokenizer-json') {
    exportTokenizerJson(data, positional[2]);
    return;
  }
  if (command === 'export') {
    const lines = ranks(data).map(([bytes, rank]) => bytes.toString('base64') + ' ' + rank);
    fs.writeFileSync(positional[2], lines.join('\n') + '\n');
    return;
  }
  if (command === 'export-gpt2') {
    exportGpt2(data, positional[2], positional[3]);
    return;
  }
  if (command !== 'encode' || positional.length !== 4) {
    process.stderr.write('usage: see the header of tiktoken_oracle.js\n');
    process.exit(2);
  }
  const enc = new Tiktoken(data.bpe_ranks, data.special_tokens, data.pat_str);
  const docs = fs.readFileSync(positional[2], 'utf8').split('\0');
  const allow = flags.has('--allow-special');
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const out = [];
  for (const doc of docs) {
    const ids = allow ? enc.encode(doc, 'all') : enc.encode_ordinary(doc);
    if (!flags.has('--bench')) out.push(Array.from(ids).join(' '));
  }
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  enc.free();
  if (flags.has('--bench')) {
    process.stdout.write(`seconds ${wall} cpu_seconds ${(cpu.user + cpu.system) / 1e6}\n`);
  } else {
    fs.writeFileSync(positional[3], out.join('\n') + '\n');
  }
}

main().catch((e) => {
  process.stderr.write(String(e && e.stack ? e.stack : e) + '\n');
  process.exit(1);
});
