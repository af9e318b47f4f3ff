"""Orders: carts, checkout, orders, fulfilment, routing and returns.

For now the minimal tables the imported order history needs (order, line, channel, customer);
the orders issue grows them into the full lifecycle.
"""
