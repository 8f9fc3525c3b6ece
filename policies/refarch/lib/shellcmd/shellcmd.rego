# METADATA
# title: Shell command knowledge
# description: |
#   What the policy considers a build toolchain among the OS packages a RUN installs.
#   The commands themselves are classified on the host (doc.analysis.runs, see
#   plugins/module_utils/_shellcmd.py); this package only holds the policy's side.
#   toolchain is tested equal to _shellcmd.TOOLCHAIN_PACKAGES and build_clis to
#   _shellcmd.BUILD_CLI_PACKAGES (tests/policy/test_shellcmd_sync.py).
package refarch.lib.shellcmd

# OS packages that make a compiler toolchain (NRA003: they belong in a build stage).
toolchain := {
	"build-essential", "build-base", "gcc", "g++", "gcc-c++", "make", "clang",
	"python", "python2", "python3", "musl-dev", "libc6-dev",
}

# npm packages whose command builds or compiles an application (NRA003: installed in the runtime
# image, by name or globally, they ship a build toolchain).
build_clis := {
	"typescript", "ts-node", "@nestjs/cli", "@angular/cli", "@vue/cli", "@ionic/cli",
	"webpack", "webpack-cli", "esbuild", "rollup", "parcel", "vite", "@babel/cli",
	"@babel/core", "@swc/cli", "@swc/core", "tsup", "@vercel/ncc", "gulp", "gulp-cli",
	"grunt-cli", "node-gyp", "nx", "lerna", "turbo",
}
