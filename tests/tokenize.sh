#!/usr/bin/env bash
# tokenize.sh — `modex tokenize` on the fixtures: --jsonl output equals each encodings.jsonl,
# plain ids, --pieces, --decode, --no-special, and bad input -> one line on stderr, exit 2.
set -u
: "${MODEX:?}" "${FIXTURES:?}"
T=$FIXTURES/tokenizers
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail=0
check() { # name expected actual
  if [ "$2" == "$3" ]; then echo "ok   $1"; else echo "FAIL $1"; echo "  want: $2"; echo "  got:  $3"; fail=1; fi
}
ids_of() { python3 -c 'import json,sys; [print(json.loads(l)["ids"]) for l in sys.stdin]'; }

# --- --jsonl on every fixture (specials as each fixture says; see the fixtures README) ---
jsonl() { # name path [flags]
  local name=$1 path=$2; shift 2
  "$MODEX" tokenize "$path" --jsonl "$@" < "$T/$name/encodings.jsonl" > "$tmp/out.jsonl"
  local rc=$?
  check "jsonl $name $(basename "$path") rc" 0 "$rc"
  check "jsonl $name $(basename "$path") ids" "$(ids_of < "$T/$name/encodings.jsonl")" "$(ids_of < "$tmp/out.jsonl")"
  check "jsonl $name $(basename "$path") texts" "$(python3 -c 'import json,sys; [print(json.loads(l)["text"]) for l in sys.stdin]' < "$T/$name/encodings.jsonl")" \
        "$(python3 -c 'import json,sys; [print(json.loads(l)["text"]) for l in sys.stdin]' < "$tmp/out.jsonl")"
}
jsonl gpt2-bpe "$T/gpt2-bpe"
jsonl bytebpe "$T/bytebpe/tokenizer.json"
jsonl wordpiece "$T/wordpiece"                 # [CLS] ... [SEP] from its post-processor
jsonl unigram "$T/unigram"
jsonl llama-spm "$T/llama-spm/tokenizer.model"  # sentencepiece adds no BOS
jsonl llama-spm "$T/llama-spm/vocab.gguf" --no-special  # GGUF says add_bos_token
# the output line format is the fixtures' own
check "jsonl format" '{"text": "Hello world", "ids": [15496, 995]}' \
      "$(echo '{"text": "Hello world"}' | "$MODEX" tokenize "$T/gpt2-bpe" --jsonl)"

# --- plain, pieces, decode, specials ---
check "ids" "15496 995" "$("$MODEX" tokenize "$T/gpt2-bpe" "Hello world")"
check "pieces" "Hello Ġworld" "$("$MODEX" tokenize "$T/gpt2-bpe" "Hello world" --pieces)"
check "decode" "Hello world" "$("$MODEX" tokenize "$T/gpt2-bpe" --decode 15496,995)"
check "decode spm" "Hello world" "$("$MODEX" tokenize "$T/llama-spm/tokenizer.model" --decode "15043 3186")"
check "gguf bos" "1 15043 3186" "$("$MODEX" tokenize "$T/llama-spm/vocab.gguf" "Hello world")"
check "gguf no-special" "15043 3186" "$("$MODEX" tokenize "$T/llama-spm/vocab.gguf" "Hello world" --no-special)"
check "wordpiece cls/sep" "[CLS] h ##e ##ll ##o wor ##ld [SEP]" "$("$MODEX" tokenize "$T/wordpiece" "Hello world" --pieces)"
check "wordpiece decode" "hello world" "$("$MODEX" tokenize "$T/wordpiece" --decode 2,44,119,288,126,223,429,3 --no-special)"
"$MODEX" tokenize --help | grep -q -- "--no-special" ; check "help" 0 $?

# --- bad input: exit 2 and exactly one line on stderr ---
bad() { # name expected-substring command...
  local name=$1 want=$2; shift 2
  "$@" > "$tmp/o" 2> "$tmp/e"
  local rc=$?
  check "$name exit" 2 "$rc"
  check "$name one line" 1 "$(wc -l < "$tmp/e")"
  if grep -q -- "$want" "$tmp/e"; then echo "ok   $name message"; else echo "FAIL $name message: $(cat "$tmp/e")"; fail=1; fi
}
bad "invalid utf8" "modex: (text):2: invalid UTF-8 byte 0xff" "$MODEX" tokenize "$T/gpt2-bpe" $'ab\xff'
printf '{"text": "ok"}\n{"text": "bad\\ud800"}\n' > "$tmp/in.jsonl"
bad "jsonl bad line" "(stdin):2:" sh -c "\"$MODEX\" tokenize \"$T/gpt2-bpe\" --jsonl < \"$tmp/in.jsonl\""
echo '{"model": {"type": "Nope", "vocab": {}}}' > "$tmp/tokenizer.json"
bad "unknown model type" "unknown tokenizer model type" "$MODEX" tokenize "$tmp/tokenizer.json" "x"
mkdir "$tmp/g"; echo '{"a": 0, "b": 1, "ab": 2}' > "$tmp/g/vocab.json"; printf '#version: 0.2\na b\nab\n' > "$tmp/g/merges.txt"
bad "malformed merges" "merges.txt:3:3: malformed merges line" "$MODEX" tokenize "$tmp/g" "ab"
head -c 5000 "$T/llama-spm/tokenizer.model" > "$tmp/cut.model"
bad "truncated tokenizer.model" "cut.model:.*truncated" "$MODEX" tokenize "$tmp/cut.model" "x"
bad "decode out of range" "id 99999 out of range" "$MODEX" tokenize "$T/wordpiece" --decode 99999
mkdir "$tmp/empty"
bad "no tokenizer" "no tokenizer found" "$MODEX" tokenize "$tmp/empty" "x"
exit $fail
