"""A local causal LM from a folder (transformers): batched generation, on the GPU in bf16
when torch sees one, else on the CPU in fp32. Nothing is downloaded: ``model_dir`` must hold
the weights, the config and the tokenizer, or a GGUF file (``gguf_file``) with all three."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from training.recipe.backends import Completion
from training.recipe.config import LANGUAGES, BackendConfig
from training.recipe.prompts import Task


def _render_chat(tokenizer, task: Task) -> str:
    """The prompt text: the model's own chat template when it has one, else plain turns."""
    messages = task.messages()
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    turns = [f"{m['role'].capitalize()}: {m['content']}" for m in messages]
    return "\n\n".join(turns) + "\n\nAssistant: "


class TransformersBackend:
    """Generates with ``AutoModelForCausalLM`` from ``config.model_dir``.

    Raises:
        FileNotFoundError: ``model_dir`` is missing.
    """

    name = "transformers"
    languages = LANGUAGES

    def __init__(self, config: BackendConfig):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        path = Path(config.model_dir)
        if not path.is_dir():
            raise FileNotFoundError(f"model folder {path} does not exist")
        self.config = config
        cuda = torch.cuda.is_available()
        self.device = ("cuda" if cuda else "cpu") if config.device == "auto" else config.device
        dtype_name = config.dtype
        if dtype_name == "auto":
            dtype_name = "bfloat16" if self.device.startswith("cuda") else "float32"
        self.dtype = getattr(torch, dtype_name)
        gguf = {"gguf_file": config.gguf_file} if config.gguf_file else {}
        self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True, **gguf)
        self.tokenizer.padding_side = "left"  # decoder-only: pad on the left to batch
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model = AutoModelForCausalLM.from_pretrained(
            path, local_files_only=True, dtype=self.dtype, **gguf
        ).to(self.device)
        self.model.eval()
        self.torch = torch

    def describe(self) -> dict:
        """Model folder, architecture, parameters, device and dtype."""
        return {
            "kind": self.name,
            "model_dir": str(self.config.model_dir),
            "gguf_file": self.config.gguf_file or None,
            "architecture": type(self.model).__name__,
            "parameters": sum(p.numel() for p in self.model.parameters()),
            "device": self.device,
            "dtype": str(self.dtype).removeprefix("torch."),
        }

    def supports(self, task: Task) -> bool:
        """Any language: the model is asked."""
        return task.language in self.languages

    def complete(self, tasks: Sequence[Task], attempt: int) -> list[Completion]:
        """Sample one reply per task in one batch (seeded by the first task and attempt)."""
        if not tasks:
            return []
        torch = self.torch
        prompts = [_render_chat(self.tokenizer, t) for t in tasks]
        batch = self.tokenizer(prompts, return_tensors="pt", padding=True).to(self.device)
        torch.manual_seed(int(tasks[0].id[:8], 16) + attempt)
        sample = self.config.temperature > 0
        with torch.inference_mode():
            output = self.model.generate(
                **batch,
                max_new_tokens=self.config.max_new_tokens,
                do_sample=sample,
                temperature=self.config.temperature if sample else None,
                top_p=self.config.top_p if sample else None,
                pad_token_id=self.tokenizer.pad_token_id,
            )
        width = batch["input_ids"].shape[1]
        prompt_tokens = batch["attention_mask"].sum(dim=1).tolist()
        out = []
        for row, used in zip(output, prompt_tokens, strict=True):
            new = row[width:]
            generated = int((new != self.tokenizer.pad_token_id).sum())
            text = self.tokenizer.decode(new, skip_special_tokens=True)
            out.append(Completion(text, int(used), generated))
        return out
