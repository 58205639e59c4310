"""The local web app (``marlkit serve``): a dashboard of runs (live), compare, game pages, and a play page.

Sits beside :mod:`marlkit.experiment` (it may import every floor below the CLI). Built on Starlette + uvicorn
(ASGI), Jinja2 templates and Plotly's bundled JavaScript (served from the installed package: nothing is fetched
from the internet). See docs/serve.md.
"""
