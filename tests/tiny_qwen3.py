"""Build a tiny Qwen3 model and tokenizer that a real vLLM server can load and serve.

Run inside the vLLM environment (it needs torch, transformers and tokenizers):

    /opt/sddd-vllm/bin/python tests/tiny_qwen3.py OUT_DIR

The model is a ``Qwen3ForCausalLM`` (hidden 256, 4 layers, vocabulary about 4,000) with random
weights, except that a few are set so that it always answers the same way: a ``<think>`` block,
then a Hermes tool call, then ``<|im_end|>``. That lets vLLM's real reasoning and tool-call
parsers work on its output.

How: every layer's output projections (``o_proj``, ``down_proj``) are zero, so the residual
stream holding token t at any position is just ``embed(t)``: the next token is a function of
the current token alone. Each piece of the scripted answer is one added token, so the script is
a chain a -> b -> c with no repeats, and every other token leads to the first piece. Attention
and the MLPs still compute (on random weights), so prefill costs what it would for any model of
this size and prefix caching has something real to save.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HIDDEN = 256
LAYERS = 4
VOCAB_TARGET = 4000
MAX_POSITIONS = 4096

SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
# Qwen3 keeps these as added, non-special tokens: they survive skip_special_tokens.
MARKUP = ["<think>", "</think>", "<tool_call>", "</tool_call>", "<tools>", "</tools>"]
TOOL_CALL = {"name": "get_weather", "arguments": {"city": "Paris"}}
REASONING = "\nThe user asks for the weather. I will call get_weather.\n"
# The scripted answer, one token per piece; the last one is the end-of-turn token.
SCRIPT = ["<think>", REASONING, "</think>", "\n\n", "<tool_call>",
          "\n" + json.dumps(TOOL_CALL) + "\n", "</tool_call>", "<|im_end|>"]

# ChatML with tools rendered the Hermes way (as Qwen3's own template does).
CHAT_TEMPLATE = (
    "{% if tools %}<|im_start|>system\n"
    "{% if messages[0].role == 'system' %}{{ messages[0].content }}\n\n{% endif %}"
    "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
    "You are provided with function signatures within <tools></tools> XML tags:\n<tools>"
    "{% for tool in tools %}{{ '\\n' }}{{ tool | tojson }}{% endfor %}{{ '\\n' }}</tools>\n\n"
    "For each function call, return a json object with function name and arguments within "
    "<tool_call></tool_call> XML tags:\n<tool_call>\n"
    '{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call><|im_end|>\n'
    "{% elif messages[0].role == 'system' %}"
    "<|im_start|>system\n{{ messages[0].content }}<|im_end|>\n{% endif %}"
    "{% for message in messages %}"
    "{% if message.role == 'system' %}"
    "{% elif message.role == 'tool' %}"
    "<|im_start|>user\n<tool_response>\n{{ message.content }}\n</tool_response><|im_end|>\n"
    "{% elif message.role == 'assistant' and message.tool_calls %}"
    "<|im_start|>assistant\n{{ message.content or '' }}"
    "{% for call in message.tool_calls %}{{ '\\n' }}<tool_call>\n"
    '{"name": "{{ call.function.name }}", "arguments": '
    "{{ call.function.arguments if call.function.arguments is string "
    "else call.function.arguments | tojson }}}\n</tool_call>"
    "{% endfor %}<|im_end|>\n"
    "{% else %}"
    "<|im_start|>{{ message.role }}\n{{ message.content }}<|im_end|>\n"
    "{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def training_text() -> list[str]:
    """Local text for the BPE: this repository's docs (when present) and a built-in corpus."""
    root = Path(__file__).resolve().parent.parent
    texts = [p.read_text(encoding="utf-8", errors="replace")
             for p in sorted((root / "docs").rglob("*.md"))]
    texts.append(CHAT_TEMPLATE + REASONING + json.dumps(TOOL_CALL))
    texts.append(" ".join(f"word{i} token{i % 97} prefix{i % 13}" for i in range(5000)))
    return texts


def build_tokenizer(out: Path):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_TARGET, special_tokens=SPECIAL,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False,
    )
    tok.train_from_iterator(training_text(), trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>",
        additional_special_tokens=[],
    )
    fast.add_tokens(MARKUP + [p for p in SCRIPT if p not in MARKUP and p not in SPECIAL])
    fast.chat_template = CHAT_TEMPLATE
    fast.model_max_length = MAX_POSITIONS
    fast.save_pretrained(out)
    return fast


def build_model(out: Path, tokenizer) -> None:
    import torch
    from transformers import GenerationConfig, Qwen3Config, Qwen3ForCausalLM

    torch.manual_seed(0)
    vocab = len(tokenizer)
    ids = [tokenizer.convert_tokens_to_ids(p) if p in tokenizer.get_vocab()
           else tokenizer.encode(p, add_special_tokens=False) for p in SCRIPT]
    for piece, tid in zip(SCRIPT, ids, strict=True):
        if not isinstance(tid, int):
            raise SystemExit(f"script piece {piece!r} is not one token: {tid}")
    eos = tokenizer.convert_tokens_to_ids("<|im_end|>")
    config = Qwen3Config(
        vocab_size=vocab, hidden_size=HIDDEN, intermediate_size=512, num_hidden_layers=LAYERS,
        num_attention_heads=4, num_key_value_heads=2, head_dim=64,
        max_position_embeddings=MAX_POSITIONS, tie_word_embeddings=False, torch_dtype="float32",
        bos_token_id=eos, eos_token_id=eos, pad_token_id=tokenizer.pad_token_id,
        architectures=["Qwen3ForCausalLM"],
    )
    model = Qwen3ForCausalLM(config)
    with torch.no_grad():
        for layer in model.model.layers:
            layer.self_attn.o_proj.weight.zero_()
            layer.mlp.down_proj.weight.zero_()
        model.model.norm.weight.fill_(1.0)
        # Dimension i codes script piece i; dimension len(SCRIPT) codes "any other token".
        other = len(SCRIPT)
        embed = torch.zeros(vocab, HIDDEN)
        embed[:, other] = 1.0
        for i, tid in enumerate(ids):
            embed[tid] = 0.0
            embed[tid, i] = 1.0
        model.model.embed_tokens.weight.copy_(embed)
        head = torch.zeros(vocab, HIDDEN)
        head[ids[0], other] = 10.0  # anything else -> "<think>"
        for i in range(len(ids)):
            head[ids[(i + 1) % len(ids)], i] = 10.0  # piece i -> piece i+1 (and the end wraps)
        model.lm_head.weight.copy_(head)
    model.save_pretrained(out, safe_serialization=True)
    GenerationConfig(bos_token_id=eos, eos_token_id=eos, pad_token_id=tokenizer.pad_token_id,
                     do_sample=False).save_pretrained(out)


def expected_answer() -> dict:
    """What the scripted model says: for tests to compare with."""
    return {"reasoning": REASONING, "tool_call": TOOL_CALL}


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: tiny_qwen3.py OUT_DIR", file=sys.stderr)
        return 2
    out = Path(argv[1])
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer(out)
    build_model(out, tokenizer)
    print(f"built {out} (vocab {len(tokenizer)})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
