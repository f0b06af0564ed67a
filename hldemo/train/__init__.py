"""Building an NHL from its teacher: teacher initialisation without gradient steps (:mod:`.distill`)
and the resumable training program (:mod:`.fit`, ``python -m hldemo.train``)."""
