"""Every place where this project departs from calling a library as documented, in one folder.

Each module here holds one deviation's code and says why it exists; ``DEVIATIONS`` lists them with the
library versions they were checked against and the test that holds the result equal to the library's own
(or, for the SDK, the behaviour we rely on). When a library is upgraded, run those tests first; when one
fails, the deviation's module is the one place to look. ``pyproject.toml`` pins the ranges checked here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Deviation:
    module: str  # the file in this folder
    what: str
    why: str
    checked_with: str  # library versions the test passed with
    test: str  # the test that holds it equal to the library
    used_by: str


DEVIATIONS = (
    Deviation(
        module="blip_sdpa",
        what="BLIP's vision encoder run layer by layer with scaled_dot_product_attention",
        why="transformers 5's BlipAttention is eager only; the fused kernel roughly halves attention's share "
            "(about 40% of the encoder in bf16 on a CPU)",
        checked_with="transformers 5.24.0, torch 2.13.0",
        test="test_blip_fused_attention_encoder_equals_the_library_vision_model",
        used_by="vision/blip.py (BlipBackend.encode)",
    ),
    Deviation(
        module="blip_cross_attention_mask",
        what="a forward pre-hook handing the padding mask to BLIP's text-side cross-attention",
        why="transformers 5 drops encoder_attention_mask inside BlipTextAttention, so padded questions in a "
            "batch would attend to padding and differ from lone calls",
        checked_with="transformers 5.24.0",
        test="test_questions_of_any_length_share_one_batch_and_equal_lone_answers",
        used_by="vision/blip.py (BlipBackend.__init__)",
    ),
    Deviation(
        module="onednn_packing",
        what="nn.Linear weights (float32, and bf16 on CPUs with native bf16) reordered once for oneDNN, called "
             "through torch.ops.mkldnn._linear_pointwise (the layer's weight attribute is a meta tensor with its "
             "dtype and shape, for code that reads them); models loaded for training keep plain layers",
        why="the same products about 2x faster at decoding shapes in bf16, 2.6-4.8x at 8 rows in float32 on an AVX2 "
            "CPU; these are private torch ops (what inductor's freezing pass emits), with no backward: the text "
            "side of models that explanations differentiate keeps its plain weights too",
        checked_with="torch 2.13.0 (CPU)",
        test="test_packed_linears_give_the_plain_layers_results",
        used_by="vision/loading.py (load_model)",
    ),
    Deviation(
        module="peft_rows",
        what="each row's LoRA adapter name handed to PEFT's LoRA layers by forward pre-hooks of our own, repeated "
             "for the rows a part of the model sees (beams, returned sequences)",
        why="PEFT documents mixed adapter batches as an argument of PeftModel.generate, which our backends do not "
            "call: they call the model's parts, and the parts see different row counts (BLIP VQA's question "
            "encoder one row per request, its answer decoder one per beam)",
        checked_with="peft 0.21.2, transformers 5.24.0",
        test="test_a_batch_mixing_two_adapters_and_the_base_equals_three_lone_calls_and_peft",
        used_by="vision/adapters.py (Adapters), vision/engine.py (Engine._text_side)",
    ),
    Deviation(
        module="mcp_tool_errors",
        what="tool errors rebuilt from the exception the SDK chains as ToolError.__cause__",
        why="the SDK's own text prefixes every error and dumps pydantic reports over several lines; the cause "
            "gives the one actionable line",
        checked_with="mcp 2.3.0",
        test="test_bad_input_is_one_line_tool_error_and_the_next_call_succeeds",
        used_by="server.py (AiNotesServer.call_tool)",
    ),
)
