// The run's event stream: the OpenAI-compatible chat completion with stream: true. Answer text
// arrives in choices[0].delta.content; every pipeline stage event in the chunk's `hugginggpt` field.
import { apiFetch } from "./auth.js";

export class ApiError extends Error {
  constructor(status, message, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** Turn a non-2xx response into an ApiError carrying the server's own sentence. */
export async function apiError(response) {
  let message = `${response.status} ${response.statusText}`;
  let code = "http_error";
  try {
    const body = await response.json();
    message = body.error?.message ?? message;
    code = body.error?.code ?? code;
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(response.status, message, code);
}

/** Yields {delta: "text"} and {event: {...}} in order until the server says [DONE]. */
export async function* chatStream(messages, signal) {
  const response = await apiFetch("/v1/chat/completions", {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
    body: JSON.stringify({ model: "hugginggpt", messages, stream: true }),
    signal,
  });
  if (!response.ok) throw await apiError(response);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const frame = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const data = frame
        .split("\n")
        .filter((line) => line.startsWith("data:"))
        .map((line) => line.slice(5).trimStart())
        .join("\n");
      if (!data) continue;
      if (data === "[DONE]") return;
      const chunk = JSON.parse(data);
      if (chunk.hugginggpt) yield { event: chunk.hugginggpt };
      const delta = chunk.choices?.[0]?.delta?.content;
      if (delta) yield { delta };
    }
  }
}
