"""Server-rendered pages (aiohttp-jinja2): usable without JavaScript, mobile-friendly."""
