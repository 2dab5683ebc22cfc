"""Analysis: embedding engines (embed once, many heads), sentiment and topic heads, training and evaluation."""
