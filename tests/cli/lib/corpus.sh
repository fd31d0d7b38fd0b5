# Sourced by command-line tests: tiny_corpus FILE writes a tiny corpus with
# structure to learn (1500 sentences from a few templates, always the same).
tiny_corpus() {
	awk 'BEGIN { srand(3);
		split("cat dog bird fish horse", n, " "); split("runs sleeps eats jumps sings", v, " ");
		split("quickly slowly loudly today", a, " ");
		for (i = 0; i < 1500; i++)
			printf "the %s %s %s .\n", n[int(rand() * 5) + 1], v[int(rand() * 5) + 1], a[int(rand() * 4) + 1] }' > "$1"
}
