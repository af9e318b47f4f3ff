"""Demo: a ready-to-explore platform built from the real Online Retail II history.

``omniretail demo`` finds (or downloads) the transaction log, imports it, creates a clearly
labelled demo network of UK locations and channels with opening stock derived from the real
demand, and serves the API. Owns no table; everything goes through the domains' services.
"""
