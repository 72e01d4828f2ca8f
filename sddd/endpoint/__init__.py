"""A live vLLM OpenAI server: the HTTP client, `sddd validate` checks, the load and prefix-cache
benchmarks, and their saved history."""
