"""``art2music serve``: a local web page (Gradio) to drop a picture and listen to its music.

- :mod:`art2music.web.uploads`: what an uploaded file must be (the checks of :func:`art2music.io.images.load_image`,
  with a smaller size limit), and the one-line messages shown on the page when it is not;
- :mod:`art2music.web.generate`: the one adapter between the page and a loaded pipeline (which options it takes,
  what to say when it cannot use one), and the per-process output folder;
- :mod:`art2music.web.app`: the page's layout and its handlers;
- :mod:`art2music.web.cli`: ``art2music serve`` (load the models once, warm them up, start the server).

Gradio is imported only by ``app`` and ``cli``; the other modules are testable without it.
"""
