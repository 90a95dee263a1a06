"""Built-in simulations: every training method, associative memory, spiking network."""
