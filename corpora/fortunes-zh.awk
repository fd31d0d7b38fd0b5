# The Chinese corpus from Debian's fortunes-zh: every fortune one line.
# Input: the fortune files (an item ends at a line holding only "%"); run with
# LC_ALL=C (the text is matched as bytes) and -v out=ALL -v train=T -v
# valid=V -v every=N. Lines drawn in color are the items' metadata (titles,
# authors, "-- source" attributions) and are left out; so are blanks
# (ASCII, no-break and ideographic spaces, which only indent) and the "%"
# closing each file's last item. An item with
# ASCII letters or digits left (Debian's FAQ, the software quotes) is not
# Chinese text and is skipped, as is an item already seen (some sayings and
# poems occur in two files). Every Nth item kept is validation text.
BEGIN { RS = "\n%\n" }
{
	n = split($0, line, "\n")
	s = ""
	for (i = 1; i <= n; i++)
		if (line[i] !~ /\033/)
			s = s line[i]
	gsub(/[ \t\r%]|\302\240|\343\200\200/, "", s)
	if (s == "" || s ~ /[A-Za-z0-9]/ || seen[s]++)
		next
	print s > out
	print s > (++kept % every == 0 ? valid : train)
}
