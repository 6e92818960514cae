"""The MCP surface, by domain: each module holds module-level tool functions and a ``register(server)``.

    vision.py     caption_image, caption_images, answer_question, score_image_text, list_models
    notes.py      search_notes, read_note, find_models
    prompts.py    describe_image, explain_from_notes
    resources.py  notes://{path} pages and notes://catalog/models
    common.py     what they share: annotations, the services, option parameters
"""
