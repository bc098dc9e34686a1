#!/usr/bin/env bash
# seeds.sh DIR — small valid GGUF and safetensors files for the fuzzers' seed corpus (the
# fixtures are large; these reach every branch of a valid file in a few hundred bytes).
set -eu
dir=$1
le() { # le VALUE BYTES: little-endian integer
  local v=$1 n=$2 i
  for ((i = 0; i < n; i++)); do printf "\\x$(printf %02x $((v & 255)))"; v=$((v >> 8)); done
}
str() { le ${#1} 8; printf '%s' "$1"; }
zeros() { head -c "$1" /dev/zero; }

# safetensors: F32 [2,2] + BF16 [3] + an empty I64, with __metadata__
hdr='{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"b":{"dtype":"BF16","shape":[3],"data_offsets":[16,22]},"e":{"dtype":"I64","shape":[0],"data_offsets":[22,22]}}'
while (( ${#hdr} % 8 )); do hdr="$hdr "; done
{ le ${#hdr} 8; printf '%s' "$hdr"; printf '\x00\x00\xc0\x3f\x00\x00\x00\xc0\x00\x00\x80\x3f\x00\x00\x00\x00\x80\x3f\x20\x40\x60\xc0'; } >"$dir/small1.safetensors"

# GGUF v3: metadata of several types (an array of strings, of f32 and of arrays), tensors
# F32 [2,3], F16 [4], Q8_0 [32]
{
  printf 'GGUF'; le 3 4; le 3 8; le 6 8
  str general.architecture; le 8 4; str llama
  str llama.context_length; le 4 4; le 128 4
  str general.alignment; le 4 4; le 32 4
  str tokenizer.ggml.tokens; le 9 4; le 8 4; le 3 8; str '<unk>'; str '<s>'; str a
  str tokenizer.ggml.scores; le 9 4; le 6 4; le 2 8; le 0 4; le 1065353216 4
  str nested; le 9 4; le 9 4; le 1 8; le 0 4; le 2 8; printf '\x01\x02'
  str w.f32; le 2 4; le 3 8; le 2 8; le 0 4; le 0 8
  str w.f16; le 1 4; le 4 8; le 1 4; le 32 8
  str w.q8; le 1 4; le 32 8; le 8 4; le 64 8
} >"$dir/small1.gguf"
size=$(stat -c %s "$dir/small1.gguf")
zeros $(( (32 - size % 32) % 32 )) >>"$dir/small1.gguf"
{ zeros 24; zeros 8; printf '\x00\x3c\x00\xc0\x00\x00\x00\x00'; zeros 24; printf '\x00\x38'; zeros 32; } >>"$dir/small1.gguf"

# GGUF v3 with a byte-level BPE vocabulary (tokenizer.ggml.model "gpt2") and no tensors
{
  printf 'GGUF'; le 3 4; le 0 8; le 7 8
  str tokenizer.ggml.model; le 8 4; str gpt2
  str tokenizer.ggml.pre; le 8 4; str qwen2
  str tokenizer.ggml.tokens; le 9 4; le 8 4; le 6 8; str h; str e; str he; str 'Ġ'; str 'Ġhe'; str '<|end|>'
  str tokenizer.ggml.token_type; le 9 4; le 5 4; le 6 8; le 1 4; le 1 4; le 1 4; le 1 4; le 1 4; le 3 4
  str tokenizer.ggml.merges; le 9 4; le 8 4; le 2 8; str 'h e'; str 'Ġ he'
  str tokenizer.ggml.eos_token_id; le 4 4; le 5 4
  str tokenizer.ggml.add_eos_token; le 7 4; printf '\x01'
} >"$dir/vocab-bpe.gguf"
