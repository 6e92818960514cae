"""Realistic questions to the notes and the page that should answer them.

Shared by tests/test_knowledge.py (each expected page must be in the top 3 hits) and
tools/bench_notes.py (latency over these queries, precision@1 and @3). The queries are phrased
as an agent or a reader would ask, not copied from headings; the anchor names the section that
answers best, for the reader of a failure (only the page is asserted).
"""

from __future__ import annotations

from typing import NamedTuple


class NotesQuery(NamedTuple):
    query: str
    page: str  # the page expected among the top hits
    anchor: str  # the section that answers it best (informative)


QUERIES: tuple[NotesQuery, ...] = (
    # vision-language.md
    NotesQuery("how does BLIP-2 connect the image encoder to the language model", "vision-language.md", "q-former"),
    NotesQuery("should I use ITM or ITC scores to compare an image with texts", "vision-language.md", "itm-vs-itc"),
    NotesQuery("captioner mentions objects that are not in the picture", "vision-language.md", "object-hallucination"),
    NotesQuery("zero-shot image classification with contrastive pretraining", "vision-language.md", "clip"),
    NotesQuery("visual instruction tuning LLaVA", "vision-language.md", "llava"),
    NotesQuery("filtering noisy web alt-text with synthetic captions", "vision-language.md", "capfilt"),
    # security.md
    NotesQuery("indirect prompt injection", "security.md", "indirect-prompt-injection"),
    NotesQuery("tool poisoning attacks through MCP tool descriptions", "security.md", "tool-poisoning"),
    NotesQuery("adversarial perturbations that fool an image classifier", "security.md", "adversarial-examples"),
    NotesQuery("membership inference: was this record in the training set", "security.md", "privacy"),
    NotesQuery("confused deputy and least privilege for agents", "security.md", "confused-deputy"),
    # small-models.md
    NotesQuery("quantization trade-offs", "small-models.md", "trade-offs"),
    NotesQuery("GPTQ versus AWQ 4-bit weight quantization", "small-models.md", "awq"),
    NotesQuery("fine-tuning with low-rank adapters", "small-models.md", "lora"),
    NotesQuery("knowledge distillation from a teacher into a smaller student", "small-models.md", "distillation"),
    NotesQuery("running a model on a phone or in the browser", "small-models.md", "runtimes"),
    # text.md
    NotesQuery("which open models support tool use", "text.md", "tool-use"),
    NotesQuery("compute-optimal scaling laws Chinchilla", "text.md", "scaling"),
    NotesQuery("chain-of-thought prompting with worked examples", "text.md", "chain-of-thought"),
    NotesQuery("extending the context window beyond the trained length", "text.md", "long-context"),
    # text-chat.md
    NotesQuery("direct preference optimization without a reward model", "text-chat.md", "dpo"),
    NotesQuery("constitutional AI and RL from AI feedback", "text-chat.md", "constitutional-ai"),
    NotesQuery("chat templates and system prompts", "text-chat.md", "system-prompts"),
    NotesQuery("sycophancy in chat assistants", "text-chat.md", "hallucination"),
    # text-search.md
    NotesQuery("reranking with cross encoders", "text-search.md", "reranking"),
    NotesQuery("how to chunk documents for retrieval-augmented generation", "text-search.md", "chunking"),
    NotesQuery("HNSW approximate nearest neighbour index", "text-search.md", "vector-search"),
    NotesQuery("combining BM25 and dense retrieval with reciprocal rank fusion", "text-search.md", "hybrid-search"),
    # code.md
    NotesQuery("fill in the middle code completion", "code.md", "fill-in-the-middle"),
    NotesQuery("SWE-bench Verified resolve rate", "code.md", "swe-bench"),
    NotesQuery("LLMs recommending hallucinated packages that do not exist", "code.md", "failure-modes"),
    NotesQuery("HumanEval pass@k", "code.md", "benchmarks"),
    # image-generation.md
    NotesQuery("classifier-free guidance", "image-generation.md", "guidance"),
    NotesQuery("latent diffusion with an autoencoder Stable Diffusion", "image-generation.md", "latent-diffusion"),
    NotesQuery("FID and CLIP score to evaluate generated images", "image-generation.md", "evaluation"),
    NotesQuery("ControlNet pose and edge conditioning", "image-generation.md", "control"),
    # image-prompts.md
    NotesQuery("negative prompts", "image-prompts.md", "negative-prompts"),
    NotesQuery("lighting and lens words for a photographic prompt", "image-prompts.md", "camera-and-lens"),
    NotesQuery("why does adding trending on artstation change the picture", "image-prompts.md", "why-modifiers-work"),
    # products.md
    NotesQuery("when did ChatGPT launch", "products.md", "writing"),
    NotesQuery("answer engines like Perplexity that cite their sources", "products.md", "search"),
    # resources.md
    NotesQuery("newsletters and podcasts to keep up with AI", "resources.md", "newsletters"),
    NotesQuery("free courses for a beginner", "resources.md", "beginner"),
    # agents.md
    NotesQuery("what changed between MCP specification revisions", "agents.md", "mcp-revisions"),
    NotesQuery("agent to agent protocol A2A compared with MCP", "agents.md", "agent-to-agent"),
    NotesQuery("coding agents that read the answer from git history", "agents.md", "reward-hacking"),
    # audio.md
    NotesQuery("how is word error rate measured for speech recognition", "audio.md", "wer"),
    NotesQuery("full-duplex speech-to-speech voice model", "audio.md", "moshi"),
    NotesQuery("zero-shot voice cloning from a few seconds of audio", "audio.md", "voice-cloning"),
    # infra.md
    NotesQuery("why is LLM decoding bound by memory bandwidth", "infra.md", "decode-bandwidth"),
    NotesQuery("paged KV cache and continuous batching in serving engines", "infra.md", "serving-engines"),
    NotesQuery("speculative decoding with a draft model", "infra.md", "speculative-decoding"),
    # evaluation.md
    NotesQuery("benchmark contamination detection", "evaluation.md", "contamination"),
    NotesQuery("how to read an LLM leaderboard", "evaluation.md", "reading-results"),
    NotesQuery("LLM-as-a-judge biases", "evaluation.md", "llm-as-judge"),
    # prompting.md
    NotesQuery("should I add few-shot examples or chain of thought when prompting a reasoning model", "prompting.md",
               "reasoning-models"),
    NotesQuery("does forcing JSON output hurt reasoning accuracy", "prompting.md", "format-cost"),
    NotesQuery("prompt caching cost of a stable prefix for an agent", "prompting.md", "prompt-caching"),
    # index.md
    NotesQuery("what does the possibly stale warning under a page title mean", "index.md", "reading"),
    # contributing.md
    NotesQuery("how do I add a page to the notes", "contributing.md", "add-a-page"),
)
