# Thin wrapper over the CMake presets (DESIGN §8). Programs land in build/bin/.
PREFIX ?= /usr/local
DESTDIR ?=

.PHONY: all test demo demo-backup install format bench fuzz clean

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

clean:
	rm -rf build build-ci build-fuzz
