"""Browser journeys through the server-rendered pages (Playwright, system Chromium)."""
