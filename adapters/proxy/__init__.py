"""The transparent proxy: provider APIs in, compressed and forwarded, streamed back."""
