"""StreamTap: usage, ids and text read from SSE bytes however the network splits them."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from tokman.integrations._streams import StreamTap
from tokman.usage import Usage


def _sse(*events: object, done: bool = True, sep: bytes = b"\n\n") -> bytes:
    out = b"".join(b"data: " + json.dumps(e).encode() + sep for e in events)
    return out + (b"data: [DONE]" + sep if done else b"")


def _chunk(content: str | None = None, **extra: object) -> dict[str, object]:
    delta = {} if content is None else {"content": content}
    chunk: dict[str, object] = {
        "id": "chatcmpl-7", "object": "chat.completion.chunk", "model": "gpt-4o-2024-08-06",
        "choices": [{"index": 0, "delta": delta, "finish_reason": None}], "usage": None,
    }  # fmt: skip
    chunk.update(extra)
    return chunk


USAGE = {
    "prompt_tokens": 20, "completion_tokens": 9, "total_tokens": 29,
    "prompt_tokens_details": {"cached_tokens": 8},
    "completion_tokens_details": {"reasoning_tokens": 0},
}  # fmt: skip
USAGE_CHUNK = _chunk(choices=[], usage=USAGE)
CHAT = _sse(_chunk("Once"), _chunk(" upon"), _chunk(" a time"), USAGE_CHUNK)


def _run(tap: StreamTap, data: bytes, cuts: list[int]) -> bytes:
    out, last = [], 0
    for cut in sorted(set(cuts)):
        out.append(tap.feed(data[last:cut]))
        last = cut
    out.append(tap.feed(data[last:]))
    out.append(tap.flush())
    return b"".join(out)


def test_chat_stream_usage_id_model_and_text() -> None:
    """The usage chunk gives the usage; deltas give the text; the bytes pass unchanged."""
    tap = StreamTap("chat")
    assert _run(tap, CHAT, []) == CHAT
    assert tap.usage == Usage(20, 9, cached_tokens=8)
    assert (tap.response_id, tap.response_model) == ("chatcmpl-7", "gpt-4o-2024-08-06")
    assert tap.text == "Once upon a time"
    assert tap.events == 5


@given(st.lists(st.integers(min_value=0, max_value=len(CHAT)), max_size=30))
def test_any_split_of_the_bytes_gives_the_same_result(cuts: list[int]) -> None:
    """However the stream is split into reads, the output and the usage are the same."""
    tap = StreamTap("chat", hide_usage=True)
    out = _run(tap, CHAT, cuts)
    assert out == _sse(_chunk("Once"), _chunk(" upon"), _chunk(" a time"))
    assert tap.usage == Usage(20, 9, cached_tokens=8)
    assert tap.text == "Once upon a time"


def test_hidden_usage_chunk_is_dropped_only_when_tokman_asked_for_it() -> None:
    """hide_usage drops exactly the usage-only chunk; [DONE] and the rest pass."""
    hidden = _run(StreamTap("chat", hide_usage=True), CHAT, [])
    assert b'"usage": {' not in hidden and hidden.endswith(b"data: [DONE]\n\n")
    assert _run(StreamTap("chat"), CHAT, []) == CHAT


def test_crlf_separated_events() -> None:
    """Events separated by CRLF blank lines are read the same."""
    data = _sse(_chunk("Hi"), USAGE_CHUNK, sep=b"\r\n\r\n")
    tap = StreamTap("chat", hide_usage=True)
    out = _run(tap, data, [7, 50])
    assert tap.usage == Usage(20, 9, cached_tokens=8)
    assert out == _sse(_chunk("Hi"), sep=b"\r\n\r\n")


def test_azure_annotation_chunks() -> None:
    """Azure: a first chunk with empty id/model and no choices, annotation chunks without delta."""
    first = {
        "id": "", "object": "", "created": 0, "model": "", "choices": [], "usage": None,
        "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": {}}],
    }  # fmt: skip
    annotation = {
        "id": "", "model": "", "object": "",
        "choices": [{"index": 0, "finish_reason": None, "content_filter_results": {},
                     "content_filter_offsets": {"check_offset": 4, "start_offset": 4,
                                                "end_offset": 19}}],
    }  # fmt: skip
    tap = StreamTap("chat", hide_usage=True)
    out = _run(tap, _sse(first, _chunk("Hello"), annotation, USAGE_CHUNK), [3])
    assert (tap.response_id, tap.response_model) == ("chatcmpl-7", "gpt-4o-2024-08-06")
    assert tap.text == "Hello"
    assert tap.usage == Usage(20, 9, cached_tokens=8)
    assert out == _sse(first, _chunk("Hello"), annotation)


def test_tool_call_arguments_count_as_output_text() -> None:
    """Tool-call names and argument deltas are output; arguments=None is tolerated."""
    call = {"index": 0, "id": "call_1", "type": "function",
            "function": {"name": "lookup", "arguments": None}}  # fmt: skip
    more = {"index": 0, "function": {"arguments": '{"q": "x"}'}}
    chunks = [_chunk(), _chunk()]
    chunks[0]["choices"] = [{"index": 0, "delta": {"tool_calls": [call]}}]
    chunks[1]["choices"] = [{"index": 0, "delta": {"tool_calls": [more]}}]
    tap = StreamTap("chat")
    _run(tap, _sse(*chunks, done=False), [])
    assert tap.text == 'lookup{"q": "x"}'
    assert tap.usage is None


def test_cut_stream_has_no_usage_and_keeps_the_text() -> None:
    """A stream cut mid-event: no usage; the partial event is passed on at flush."""
    data = _sse(_chunk("Once"), _chunk(" upon"), done=False)[:-10]
    tap = StreamTap("chat", hide_usage=True)
    assert _run(tap, data, []) == data
    assert tap.usage is None and tap.text == "Once"


def _responses(*events: tuple[str, dict[str, object]]) -> bytes:
    return b"".join(
        f"event: {name}\ndata: {json.dumps({'type': name, **body})}\n\n".encode()
        for name, body in events
    )


def test_responses_stream_usage_from_the_terminal_event() -> None:
    """Responses: id from response.created, text from deltas, usage from response.completed."""
    response = {"id": "resp_1", "object": "response", "model": "gpt-4.1-2025-04-14"}
    usage = {"input_tokens": 30, "input_tokens_details": {"cached_tokens": 0},
             "output_tokens": 12, "output_tokens_details": {"reasoning_tokens": 4},
             "total_tokens": 42}  # fmt: skip
    data = _responses(
        ("response.created", {"response": {**response, "usage": None}}),
        ("response.output_text.delta", {"delta": "Hello"}),
        ("response.function_call_arguments.delta", {"delta": "{}"}),
        ("response.audio.delta", {"delta": "AAAA"}),
        ("response.completed", {"response": {**response, "usage": usage}}),
    )
    tap = StreamTap("responses")
    assert _run(tap, data, [11, 200]) == data
    assert (tap.response_id, tap.response_model) == ("resp_1", "gpt-4.1-2025-04-14")
    assert tap.usage == Usage(30, 12, reasoning_tokens=4)
    assert tap.text == "Hello{}"
    assert not tap.failed


def test_responses_failed_event_marks_the_stream_failed() -> None:
    """response.failed without usage: failed, no usage (the shell estimates)."""
    data = _responses(("response.failed", {"response": {"id": "resp_2", "usage": None}}))
    tap = StreamTap("responses")
    _run(tap, data, [])
    assert tap.failed and tap.usage is None
