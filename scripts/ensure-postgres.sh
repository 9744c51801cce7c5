#!/bin/sh
# ensure-postgres.sh: make sure the PostgreSQL 15 server binaries exist
# (/usr/lib/postgresql/15/bin/initdb, postgres, pg_ctl). Lastfluss's tests and
# `make run` start private clusters from them; the Debian package's own
# cluster on port 5432 is never used and is left stopped.
#
# Quiet and idempotent when the binaries are there. As root it installs them
# from Debian's archive; otherwise it says what to install and exits 1.
set -eu

PGVERSION="${PGVERSION:-15}"
BINDIR="/usr/lib/postgresql/$PGVERSION/bin"

have_binaries() {
	for b in initdb postgres pg_ctl; do
		[ -x "$BINDIR/$b" ] || return 1
	done
}

if have_binaries; then
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	cat >&2 <<MSG
ensure-postgres: PostgreSQL $PGVERSION server binaries not found in $BINDIR.
Install them as root, for example:

    sudo apt-get update && sudo apt-get install -y postgresql-$PGVERSION

or run this script as root: sudo $0
MSG
	exit 1
fi

echo "ensure-postgres: installing postgresql-$PGVERSION from the Debian archive" >&2
export DEBIAN_FRONTEND=noninteractive

# Keep the package from starting (or leaving running) its own cluster on
# 5432: policy-rc.d answering 101 forbids service starts during the install.
# An existing policy-rc.d is left untouched.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' >"$policy"
	chmod 755 "$policy"
	created_policy=1
fi
cleanup() {
	if [ "$created_policy" -eq 1 ]; then
		rm -f "$policy"
	fi
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

# Clusters that exist before the install are the operator's: leave them be.
before=""
if command -v pg_lsclusters >/dev/null 2>&1; then
	before="$(pg_lsclusters -h 2>/dev/null | awk '{print $1 "/" $2}')"
fi

apt-get update -qq
if ! apt-get install -y -qq --no-install-recommends "postgresql-$PGVERSION" >/dev/null; then
	# Another release may only carry the metapackage.
	apt-get install -y -qq --no-install-recommends postgresql >/dev/null
fi

# Without systemd (containers) policy-rc.d may not be consulted: stop a
# cluster the package created and started anyway, and keep it from starting
# at boot.
if command -v pg_lsclusters >/dev/null 2>&1; then
	pg_lsclusters -h 2>/dev/null | while read -r ver name _port status _rest; do
		if printf '%s\n' "$before" | grep -qx "$ver/$name"; then
			continue
		fi
		if [ "$status" = "online" ]; then
			pg_ctlcluster "$ver" "$name" stop >/dev/null 2>&1 || true
		fi
		conf="/etc/postgresql/$ver/$name/start.conf"
		if [ -w "$conf" ]; then
			echo manual >"$conf"
		fi
	done
fi

if ! have_binaries; then
	# The metapackage brought another major version: the tests take the
	# newest /usr/lib/postgresql/*/bin, so that one will do.
	for dir in /usr/lib/postgresql/*/bin; do
		if [ -x "$dir/initdb" ] && [ -x "$dir/postgres" ]; then
			BINDIR=$dir
		fi
	done
	if ! have_binaries; then
		echo "ensure-postgres: installed, but no initdb in /usr/lib/postgresql/*/bin (is PostgreSQL in this release's archive?)" >&2
		exit 1
	fi
fi
echo "ensure-postgres: PostgreSQL server binaries ready in $BINDIR" >&2
