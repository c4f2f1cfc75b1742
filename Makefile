# Thin wrapper over the CMake presets (DESIGN §8). Programs land in build/bin/.
PREFIX ?= /usr/local
DESTDIR ?=

.PHONY: all test demo demo-backup install format bench fuzz windows clean

all:
	cmake --preset default >/dev/null
	cmake --build --preset default

test:
	./scripts/test

demo: all
	./scripts/demo-run

demo-backup: all
	./scripts/demo-backup

install: all
	DESTDIR="$(DESTDIR)" cmake --install build --prefix "$(PREFIX)"

format:
	git ls-files '*.c' '*.h' | xargs clang-format -i

bench: all
	./bench/run

fuzz:
	cmake --preset fuzz >/dev/null
	cmake --build --preset fuzz

# backupctl.exe (mingw-w64 cross build; deps from Debian source packages, cached outside the
# tree) -> dist/backupctl-<version>-win64.zip
windows:
	BK_WIN_DEPS="$$(./scripts/windows-deps --no-wine)" && export BK_WIN_DEPS && \
	cmake --preset windows >/dev/null && cmake --build --preset windows --target dist

clean:
	rm -rf build build-ci build-fuzz build-win dist
