# The cashier app: pos-kiosk (a local web app over posd's D-Bus API) and, in
# pos-kiosk-browser, the panel's full-screen browser (WPE WebKit cog on
# DRM/KMS, from meta-webkit). From the same cargo workspace as posd.
SUMMARY = "smartpos cashier app on the terminal's own screen"
DESCRIPTION = "pos-kiosk serves the merchant's cashier app (sale, void, refund, \
               offline queue, settle, diagnose, activation) on loopback, as a \
               client of posd's public D-Bus API; pos-kiosk-browser shows it \
               full screen on the panel."
# nooelint: oelint.vars.homepageping - the project has no public home yet (Cargo.toml says example.invalid too)
HOMEPAGE = "https://example.invalid/smartpos"
SECTION = "console/network"
LICENSE = "Apache-2.0"
LIC_FILES_CHKSUM = "file://LICENSE;md5=3b83ef96387f14655fc854ddc3c6bd57"

# The source first: the crates add to its SRC_URI.
require recipes-smartpos/posd/posd-source.inc
require recipes-smartpos/posd/posd-crates.inc

inherit cargo cargo-update-recipe-crates systemd useradd

# The workspace's `ship` profile, as posd.
BUILD_MODE = "--profile ship"
BUILD_DIR = "ship"

# The operator PIN (4 to 8 digits) that guards void, refund, settle and
# unbind on the screen. Set it in the device configuration; left empty, the
# image warns and those four stay off (never a default PIN everyone knows).
KIOSK_OPERATOR_PIN ??= ""

do_compile() {
    oe_cargo_build -p pos-kiosk
}

# kiosk/install.manifest: the same file list the image boot test installs.
do_install() {
    sh ${S}/scripts/install-files \
        --destdir ${D} \
        --build ${B}/target/${CARGO_TARGET_SUBDIR} \
        --manifest kiosk/install.manifest \
        --var bindir=${bindir} \
        --var sysconfdir=${sysconfdir} \
        --var datadir=${datadir} \
        --var systemd_system_unitdir=${systemd_system_unitdir} \
        --var sysusersdir=${nonarch_libdir}/sysusers.d \
        --var udevrulesdir=${nonarch_base_libdir}/udev/rules.d
    if [ -n "${KIOSK_OPERATOR_PIN}" ]; then
        printf 'operator_pin = "%s"\n' "${KIOSK_OPERATOR_PIN}" >> ${D}${sysconfdir}/smartpos/kiosk.toml
    else
        bbwarn "KIOSK_OPERATOR_PIN is not set: void, refund, settle and unbind are off on the cashier screen"
    fi
}

# Users of kiosk/systemd/pos-kiosk.sysusers, made at build time for a read-only root.
USERADD_PACKAGES = "${PN} ${PN}-browser"
GROUPADD_PARAM:${PN} = "--system pos"
USERADD_PARAM:${PN} = "--system --home-dir / --no-create-home --shell /sbin/nologin \
                       --user-group --groups pos --comment 'smartpos cashier app' pos-kiosk"
USERADD_PARAM:${PN}-browser = "--system --home-dir / --no-create-home --shell /sbin/nologin \
                               --user-group --groups video,input,render --comment 'smartpos cashier screen' pos-kiosk-ui"

PACKAGES =+ "${PN}-browser"
SYSTEMD_PACKAGES = "${PN} ${PN}-browser"
SYSTEMD_SERVICE:${PN} = "pos-kiosk.service"
SYSTEMD_SERVICE:${PN}-browser = "pos-kiosk-browser.service"
SYSTEMD_AUTO_ENABLE = "enable"

FILES:${PN} += "${nonarch_libdir}/sysusers.d"
# The browser's unit only: the rest of the system unit dir is the server's.
# nooelint: oelint.var.filesoverride - a split package names its one file
FILES:${PN}-browser = "${systemd_system_unitdir}/pos-kiosk-browser.service"
CONFFILES:${PN} = "${sysconfdir}/smartpos/kiosk.toml"
RDEPENDS:${PN} = "dbus"
RDEPENDS:${PN}-browser = "${PN} cog"
RRECOMMENDS:${PN} = "posd"
