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
//   node bpe_oracle.js make-tokenizer-json STYLE OUT.json
//       write a tokenizer.json built by hand from tiktoken's ranks (or, for `chars`, trained here
//       on GPL-3's words), exercising the parts corpusflow reads:
//         gpt2     GPT-2's: ByteLevel with its regex, add_prefix_space false, <|endoftext|> added
//                  (special, in the vocabulary), ByteLevel post-processor;
//         roberta  the same with add_prefix_space true and a RobertaProcessing;
//         llama3   export-tokenizer-json's cl100k file with Llama 3's BOS <|begin_of_text|> (a new
//                  id) in a Sequence [ByteLevel, TemplateProcessing] post-processor;
//         qwen2    NFC + Split (qwen2's regex) + ByteLevel(use_regex false), added tokens special
//                  and not (single_word, lstrip, rstrip, normalized), an EOS template;
//         mixed    normalizers NFKD, Lowercase, Replace (string and regex), Strip, Prepend and
//                  Split pre-tokenizers of every behavior (inverted too) before a ByteLevel with
//                  add_prefix_space, a BertProcessing;
//         mistral  Mistral's layout: a character-level BPE with byte_fallback (<0xNN>), fuse_unk
//                  and <unk>, trained here on GPL-3's words; Metaspace (prepend_scheme first,
//                  split false); <s> added as BOS by a TemplateProcessing;
//         metaspace the same model with Metaspace (legacy add_prefix_space true: always;
//                  split true) after a Split on digits, and <s> </s> added by a template;
//         bert     BERT's layout: BertNormalizer (uncased), BertPreTokenizer, a WordPiece model
//                  whose vocabulary is built here from GPL-3's words and some CJK characters,
//                  BertProcessing; bert-cased: BertNormalizer without lowercase or CJK spacing
//                  but with strip_accents, a Sequence of it and NFC, max_input_chars_per_word 20
//         unigram  a Unigram model over the tokens of `mistral` with scores made up here, unk_id
//                  0, Metaspace (always, split), a "$A </s>" template; unigram-fallback: with
//                  byte_fallback
//         splitters GPT-2's model after Whitespace, Digits (individual), Punctuation (Isolated);
//                  splitters2: after WhitespaceSplit, Punctuation (MergedWithPrevious), Digits
//                  (contiguous), ByteLevel with add_prefix_space
//         chars    a character-level BPE (no ByteLevel) with continuing_subword_prefix "##",
//                  end_of_word_suffix "</w>", unk_token fused; chars-fallback: byte_fallback
//                  with <0xNN> tokens instead
//   node bpe_oracle.js encode-hf TOKENIZER_JSON INPUT OUTPUT [--add-special] [--ordinary-special]
//                                [--bench]
//       the same with HF tokenizers loading TOKENIZER_JSON: --add-special is encode's
//       addSpecialTokens; --ordinary-special makes the added tokens marked special ordinary text
//       (what corpusflow does without --allow-special) without changing any id: those the
//       vocabulary has are dropped, the others get a content no text holds
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

/// Merge the most frequent adjacent pair of `words` ({symbols, count}; ties by the pair's text)
/// into `join(a, b)`, `merges` times or until no pair is left; returns [a, b, merged] in order.
function learnMerges(words, merges, join) {
  const out = [];
  for (let m = 0; m < merges; ++m) {
    const pairs = new Map();
    for (const { symbols, count } of words) {
      for (let i = 0; i + 1 < symbols.length; ++i) {
        const key = symbols[i] + ' ' + symbols[i + 1];
        pairs.set(key, (pairs.get(key) || 0) + count);
      }
    }
    let best = null;
    for (const [key, count] of pairs) {
      if (best === null || count > best[1] || (count === best[1] && key < best[0])) best = [key, count];
    }
    if (best === null) break;
    const [a, b] = best[0].split(' ');
    const merged = join(a, b);
    out.push([a, b, merged]);
    for (const word of words) {
      const w = word.symbols;
      for (let i = 0; i + 1 < w.length; ++i) {
        if (w[i] === a && w[i + 1] === b) w.splice(i, 2, merged);
      }
    }
  }
  return out;
}

/// A character-level BPE trained on `text`'s words as HF's BpeTrainer would merge them: the most
/// frequent adjacent pair first (ties by the pair's text), `merges` times.
function trainChars(text, merges, prefix, suffix) {
  const counts = new Map();
  for (const word of text.split(/[^A-Za-z0-9]+/)) {
    if (word) counts.set(word, (counts.get(word) || 0) + 1);
  }
  const words = [...counts.entries()].map(([word, count]) => {
    const chars = Array.from(word);
    const symbols = chars.map((c, i) => (i > 0 ? prefix : '') + c + (i + 1 === chars.length ? suffix : ''));
    return { symbols, count };
  });
  const vocab = {};
  let next = 0;
  const add = (token) => { if (!(token in vocab)) vocab[token] = next++; };
  add('[UNK]');
  for (let c = 0x21; c < 0x7f; ++c) {
    const ch = String.fromCharCode(c);
    for (const token of [ch, prefix + ch, ch + suffix, prefix + ch + suffix]) add(token);
  }
  const out = learnMerges(words, merges, (a, b) => a + b.slice(prefix.length)).map(
    ([a, b, merged]) => { add(merged); return [a, b]; });
  return { vocab, merges: out };
}

/// A Metaspace BPE trained on `text`'s words ("▁word"), with <unk>, <s>, </s> and the 256 byte
/// fallback tokens first, as Mistral's and Llama 2's vocabularies start.
function trainMetaspace(text, merges) {
  const counts = new Map();
  for (const word of text.split(/\s+/)) {
    if (word) counts.set('\u2581' + word, (counts.get('\u2581' + word) || 0) + 1);
  }
  const words = [...counts.entries()].map(([word, count]) => ({ symbols: Array.from(word), count }));
  const vocab = { '<unk>': 0, '<s>': 1, '</s>': 2 };
  let next = 3;
  for (let b = 0; b < 256; ++b) {
    vocab['<0x' + b.toString(16).toUpperCase().padStart(2, '0') + '>'] = next++;
  }
  const chars = new Set();
  for (const { symbols } of words) symbols.forEach((c) => chars.add(c));
  for (const c of [...chars].sort()) vocab[c] = next++;
  const out = learnMerges(words, merges, (a, b) => a + b).map(([a, b, merged]) => {
    if (!(merged in vocab)) vocab[merged] = next++;
    return a + ' ' + b;
  });
  return { vocab, merges: out };
}

function addedToken(content, id, special, options = {}) {
  return {
    id, content, single_word: !!options.single_word, lstrip: !!options.lstrip,
    rstrip: !!options.rstrip, normalized: options.normalized === undefined ? !special : options.normalized,
    special,
  };
}

function makeTokenizerJson(style, outPath) {
  const byteLevel = (addPrefixSpace, useRegex) => (
    { type: 'ByteLevel', add_prefix_space: addPrefixSpace, trim_offsets: true, use_regex: useRegex });
  const bpe = (vocab, merges, options = {}) => Object.assign({
    type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null,
    end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: false,
    vocab, merges,
  }, options);
  const tokenizer = { version: '1.0', truncation: null, padding: null, added_tokens: [],
                      normalizer: null, pre_tokenizer: null, post_processor: null, decoder: null };
  if (style === 'bert' || style === 'bert-cased') {
    const cased = style === 'bert-cased';
    const text = fs.readFileSync('/usr/share/common-licenses/GPL-3', 'utf8');
    const vocab = {};
    let next = 0;
    const add = (token) => { if (!(token in vocab)) vocab[token] = next++; };
    ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'].forEach(add);
    for (let c = 0x21; c < 0x7f; ++c) {
      const ch = String.fromCharCode(c);
      if (cased || ch === ch.toLowerCase()) { add(ch); add('##' + ch); }
    }
    for (const ch of '\u4e2d\u6587\u7684\u4e00\u662f\u4e0d\u4eba\u6709') add(ch);
    const counts = new Map();
    for (const word of text.split(/[^A-Za-z]+/)) {
      const w = cased ? word : word.toLowerCase();
      if (w) counts.set(w, (counts.get(w) || 0) + 1);
    }
    [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 400)
      .forEach(([w]) => add(w));
    ['##s', '##ed', '##ing', '##tion', '##ly', '##er', '##es'].forEach(add);
    tokenizer.normalizer = cased
      ? { type: 'Sequence', normalizers: [{ type: 'NFC' }, { type: 'BertNormalizer', clean_text: true,
          handle_chinese_chars: false, strip_accents: true, lowercase: false }] }
      : { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null,
          lowercase: true };
    tokenizer.pre_tokenizer = { type: 'BertPreTokenizer' };
    tokenizer.model = { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##',
                        max_input_chars_per_word: cased ? 20 : 100, vocab };
    tokenizer.added_tokens = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'].map(
      (t) => addedToken(t, vocab[t], true));
    tokenizer.post_processor = { type: 'BertProcessing', sep: ['[SEP]', 3], cls: ['[CLS]', 2] };
    fs.writeFileSync(outPath, JSON.stringify(tokenizer));
    return;
  }
  if (style === 'unigram' || style === 'unigram-fallback') {
    const fallback = style === 'unigram-fallback';
    const text = fs.readFileSync('/usr/share/common-licenses/GPL-3', 'utf8');
    const { vocab } = trainMetaspace(text, 400);
    const tokens = Object.entries(vocab).sort((a, b) => a[1] - b[1]).map(([t]) => t)
      .filter((t) => fallback || !/^<0x[0-9A-F]{2}>$/.test(t));
    // Longer tokens score better, with a spread that leaves no two paths equal by accident.
    const unigramVocab = tokens.map((t, i) => [t, i < 3 ? 0.0 :
      -Math.log(i + 2) * (1 + 0.1 * (i % 7)) + 0.75 * Array.from(t).length]);
    tokenizer.model = { type: 'Unigram', unk_id: 0, vocab: unigramVocab, byte_fallback: fallback };
    tokenizer.added_tokens = [addedToken('<unk>', 0, true), addedToken('<s>', 1, true),
                              addedToken('</s>', 2, true)];
    tokenizer.pre_tokenizer = { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'always',
                                split: true };
    tokenizer.post_processor = { type: 'TemplateProcessing',
      single: [{ Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }],
      pair: [{ Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { '</s>': { id: '</s>', ids: [2], tokens: ['</s>'] } } };
    fs.writeFileSync(outPath, JSON.stringify(tokenizer));
    return;
  }
  if (style === 'mistral' || style === 'metaspace') {
    const text = fs.readFileSync('/usr/share/common-licenses/GPL-3', 'utf8');
    const { vocab, merges } = trainMetaspace(text, 400);
    tokenizer.model = bpe(vocab, merges, { unk_token: '<unk>', fuse_unk: true, byte_fallback: true });
    tokenizer.added_tokens = [addedToken('<unk>', 0, true), addedToken('<s>', 1, true),
                              addedToken('</s>', 2, true)];
    const special = (name, id) => ({ [name]: { id: name, ids: [id], tokens: [name] } });
    if (style === 'mistral') {
      tokenizer.pre_tokenizer = { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'first',
                                  split: false };
      tokenizer.post_processor = { type: 'TemplateProcessing',
        single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
        pair: [{ Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
        special_tokens: special('<s>', 1) };
    } else {
      tokenizer.pre_tokenizer = { type: 'Sequence', pretokenizers: [
        { type: 'Split', pattern: { Regex: '\\p{N}' }, behavior: 'Isolated', invert: false },
        { type: 'Metaspace', replacement: '\u2581', add_prefix_space: true }] };
      tokenizer.post_processor = { type: 'TemplateProcessing',
        single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } },
                 { SpecialToken: { id: '</s>', type_id: 0 } }],
        pair: [{ Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
        special_tokens: Object.assign(special('<s>', 1), special('</s>', 2)) };
    }
    fs.writeFileSync(outPath, JSON.stringify(tokenizer));
    return;
  }
  if (style === 'chars' || style === 'chars-fallback') {
    const text = fs.readFileSync('/usr/share/common-licenses/GPL-3', 'utf8');
    const { vocab, merges } = trainChars(text, 300, '##', '</w>');
    const fallback = style === 'chars-fallback';
    if (fallback) {
      let next = Math.max(...Object.values(vocab)) + 1;
      for (let b = 0; b < 256; ++b) {
        vocab['<0x' + b.toString(16).toUpperCase().padStart(2, '0') + '>'] = next++;
      }
    }
    tokenizer.normalizer = { type: 'Sequence', normalizers: [
      { type: 'NFD' }, { type: 'Replace', pattern: { String: '``' }, content: '"' }] };
    tokenizer.pre_tokenizer = { type: 'Sequence', pretokenizers: [
      { type: 'Split', pattern: { Regex: '\\s+' }, behavior: 'Removed', invert: false },
      { type: 'Split', pattern: { Regex: '[^\\p{L}\\p{N}]' }, behavior: 'Isolated', invert: false }] };
    tokenizer.model = bpe(vocab, merges.map(([a, b]) => [a, b]), {
      unk_token: fallback ? null : '[UNK]', fuse_unk: !fallback, byte_fallback: fallback,
      continuing_subword_prefix: '##', end_of_word_suffix: '</w>' });
    tokenizer.added_tokens = [addedToken('[UNK]', 0, true)];
    fs.writeFileSync(outPath, JSON.stringify(tokenizer));
    return;
  }
  const encoding = { gpt2: 'gpt2', roberta: 'gpt2', mixed: 'gpt2', splitters: 'gpt2',
                     splitters2: 'gpt2' }[style] || 'cl100k_base';
  const { data } = load(encoding);
  const { vocab, merges } = gpt2Files(data);
  const vocabSize = Object.keys(vocab).length;
  const split = (regex, behavior, invert = false) => (
    { type: 'Split', pattern: { Regex: regex }, behavior, invert });
  if (style === 'gpt2' || style === 'roberta') {
    tokenizer.pre_tokenizer = byteLevel(style === 'roberta', true);
    tokenizer.model = bpe(vocab, merges.slice(1));
    tokenizer.added_tokens = [addedToken('<|endoftext|>', 50256, true)];
    tokenizer.post_processor = style === 'roberta'
      ? { type: 'RobertaProcessing', sep: ['<|endoftext|>', 50256], cls: ['<|endoftext|>', 50256],
          trim_offsets: true, add_prefix_space: true }
      : byteLevel(false, true);
  } else if (style === 'llama3') {
    tokenizer.pre_tokenizer = { type: 'Sequence', pretokenizers: [
      split(data.pat_str, 'Isolated'), byteLevel(false, false)] };
    tokenizer.model = bpe(vocab, merges.slice(1), { ignore_merges: true });
    tokenizer.added_tokens = [addedToken('<|begin_of_text|>', vocabSize, true),
                              addedToken('<|end_of_text|>', vocabSize + 1, true)];
    tokenizer.post_processor = { type: 'Sequence', processors: [
      byteLevel(true, true),
      { type: 'TemplateProcessing',
        single: [{ SpecialToken: { id: '<|begin_of_text|>', type_id: 0 } },
                 { Sequence: { id: 'A', type_id: 0 } }],
        pair: [{ Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
        special_tokens: { '<|begin_of_text|>': { id: '<|begin_of_text|>', ids: [vocabSize],
                                                 tokens: ['<|begin_of_text|>'] } } }] };
  } else if (style === 'qwen2') {
    tokenizer.normalizer = { type: 'NFC' };
    const qwen2 = data.pat_str.replace('\\p{N}{1,3}', '\\p{N}');
    tokenizer.pre_tokenizer = { type: 'Sequence', pretokenizers: [
      split(qwen2, 'Isolated'), byteLevel(false, false)] };
    tokenizer.model = bpe(vocab, merges.slice(1));
    tokenizer.added_tokens = [
      addedToken('<|endoftext|>', 100257, true),      // in the vocabulary: keeps its id
      addedToken('<|im_start|>', 100261, true),       // new: numbered from the vocabulary's size
      addedToken('<|fim_prefix|>', 100258, true),
      addedToken('world', 100262, false, { single_word: true }),
      addedToken('License', 100263, false, { lstrip: true, rstrip: true }),
      addedToken('you', 100264, false, { single_word: true, lstrip: true }),
      addedToken('\u00e9', 100265, false, { normalized: true }),   // matches e + U+0301 after NFC
      addedToken('Hello', 100266, false, { normalized: false, rstrip: true }),
      addedToken('\u4e2d\u6587', 100267, false),
      addedToken('<|fim', 100268, false),
    ];
    tokenizer.post_processor = { type: 'TemplateProcessing',
      single: [{ Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '<|endoftext|>', type_id: 0 } }],
      pair: [{ Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { '<|endoftext|>': { id: '<|endoftext|>', ids: [100257], tokens: ['<|endoftext|>'] } } };
  } else if (style === 'splitters' || style === 'splitters2') {
    tokenizer.pre_tokenizer = { type: 'Sequence', pretokenizers: style === 'splitters'
      ? [{ type: 'Whitespace' }, { type: 'Digits', individual_digits: true },
         { type: 'Punctuation', behavior: 'Isolated' }, byteLevel(false, false)]
      : [{ type: 'WhitespaceSplit' }, { type: 'Punctuation', behavior: 'MergedWithPrevious' },
         { type: 'Digits', individual_digits: false }, byteLevel(true, false)] };
    tokenizer.model = bpe(vocab, merges.slice(1));
    tokenizer.added_tokens = [addedToken('<|endoftext|>', 50256, true)];
  } else if (style === 'mixed') {
    tokenizer.normalizer = { type: 'Sequence', normalizers: [
      { type: 'NFKD' }, { type: 'Lowercase' },
      { type: 'Replace', pattern: { String: 'the' }, content: 'THE' },
      { type: 'Replace', pattern: { Regex: '\\d{4,}' }, content: '0000' },
      { type: 'Strip', strip_left: true, strip_right: true },
      { type: 'Prepend', prepend: '\u2581' }] };
    tokenizer.pre_tokenizer = { type: 'Sequence', pretokenizers: [
      { type: 'Split', pattern: { String: ' ' }, behavior: 'MergedWithNext', invert: false },
      split('\\p{P}+', 'MergedWithPrevious'),
      split('[0-9]', 'Contiguous'),
      split('[\\r\\n]+', 'Removed'),
      split('\\p{L}+', 'Isolated', true),
      split('[aeiou]', 'Contiguous', true),
      byteLevel(true, false)] };
    tokenizer.model = bpe(vocab, merges.slice(1));
    tokenizer.added_tokens = [addedToken('<|endoftext|>', 50256, true)];
    tokenizer.post_processor = { type: 'BertProcessing', sep: ['<|endoftext|>', 50256],
                                 cls: ['<|endoftext|>', 50256] };
  } else {
    throw new Error('unknown style ' + style);
  }
  fs.writeFileSync(outPath, JSON.stringify(tokenizer));
}

async function encodeHf(tokenizerPath, inputPath, outputPath, flags) {
  const bench = flags.has('--bench');
  let tokenizers;
  try {
    tokenizers = require(require.resolve('tokenizers', { paths: [__dirname] }));
  } catch (e) {
    process.stderr.write('tokenizers npm package missing: run npm ci --prefix tests/oracles\n');
    process.exit(3);
  }
  let tokenizer;
  if (flags.has('--ordinary-special')) {
    const json = JSON.parse(fs.readFileSync(tokenizerPath, 'utf8'));
    // Special tokens the vocabulary has are dropped; the others keep their place (HF numbers the
    // added tokens in order) with a content no text holds, so every id stays as it was.
    const vocab = json.model.vocab;
    json.added_tokens = json.added_tokens.flatMap((t) => {
      if (!t.special) return [t];
      if (Object.prototype.hasOwnProperty.call(vocab, t.content)) return [];
      return [Object.assign({}, t, { content: '\u{10FFFF}' + t.content })];
    });
    tokenizer = tokenizers.Tokenizer.fromString(JSON.stringify(json));
  } else {
    tokenizer = tokenizers.Tokenizer.fromFile(tokenizerPath);
  }
  const addSpecialTokens = flags.has('--add-special');
  const docs = fs.readFileSync(inputPath, 'utf8').split('\0');
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const out = [];
  for (const doc of docs) {
    const encoding = await tokenizer.encode(doc, null, { addSpecialTokens });
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
    await encodeHf(positional[1], positional[2], positional[3], flags);
    return;
  }
  if (command === 'make-tokenizer-json') {
    makeTokenizerJson(positional[1], positional[2]);
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
