SUMMARY = "What a smartpos terminal runs beside posd"
DESCRIPTION = "The card reader stack (pcsc-lite, CCID driver), ModemManager \
               for the LTE modem, D-Bus and an SSH server for field engineers. \
               posd itself comes from the image (posd, or posd-sim on development images). \
               The cashier app (pos-kiosk), and its panel browser when meta-webkit is in the build."
SECTION = "console/network"

inherit packagegroup

RDEPENDS:${PN} = "\
    ccid \
    dbus \
    modemmanager \
    openssh-sftp-server \
    openssh-sshd \
    pcsc-lite \
    pos-kiosk \
    ${@bb.utils.contains('BBFILE_COLLECTIONS', 'webkit', 'pos-kiosk-browser', '', d)} \
"
