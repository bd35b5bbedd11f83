"""digitmodel: the model pipeline behind digitd (data, training, compression, RKNN export)."""
