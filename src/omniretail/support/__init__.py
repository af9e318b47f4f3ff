"""Customer service. The self-service assistant (``assistant.py``): intents recognised offline
(``assistant_model.py``, data in ``intents/``), answered from live order, fulfilment,
inventory, location and loyalty data through those domains' public faces; it reveals order
details only to a verified customer and hands over to an agent below its confidence
threshold."""
