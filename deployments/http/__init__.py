"""The HTTP layer, Ray-free (in the style of vLLM's OpenAI entrypoints): ``protocol`` (every wire model
and the one error body), ``serving`` (pipeline events to completions, SSE chunks and JARVIS bodies),
``routes`` (thin route functions and ``create_api``), ``disconnect`` (cancellation when the client
leaves), ``middleware`` (body limit, request metrics), ``service`` (what the routes serve), ``web``
(the single page)."""
