"""The market simulator: scenarios read from TOML, a generated world, and a stream of sales.

This half is pure: no database and no Flask. `load_scenario` reads the parameters, `build_world`
draws the producers, markets, vendors and listings, and `play` streams what happens at the stalls.
"""
