#!/usr/bin/perl
# fill-emails.pl - give every MITS Customer without an e-mail one built from
# its CustomerID, as a property manager would after reading the exceptions.
# Used by t0300 to derive a variant of a sample at test time.
# add an e-mail to every MITS Customer that has none
my ($id, $has) = ('', 0);
while (<>) {
  if (/<(?:\w+:)?Customer\b[^>]*>/ && !/<(?:\w+:)?CustomerID/) { ($id, $has) = ('', 0); }
  $id = $1 if !$id && /<(?:\w+:)?CustomerID>\s*([^<\s]+)\s*</;
  $has = 1 if /<(?:\w+:)?Email>/;
  if (m{</((?:\w+:)?)Customer>} && !$has && $id) {
    my $p = $1; s{</${p}Customer>}{<${p}Address Type="current"><${p}Email>$id\@example.com</${p}Email></${p}Address></${p}Customer>};
  }
  print;
}
