"""Instrumenting the official ``openai`` SDK: one pipeline (plan -> settle) with thin sync and
async shells, the transport that runs it on every HTTP attempt, stream taps, and metrics sinks.

The gateway reuses the same pipeline; nothing here is imported by ``import tokman``.
"""
