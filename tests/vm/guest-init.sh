#!/bin/busybox sh
# The guest's /init (vm-run appends the hm_setup / hm_run lines and the poweroff).
/bin/busybox --install -s /bin
export PATH=/bin GTEST_COLOR=no
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /dev/hugepages && mount -t hugetlbfs none /dev/hugepages
ulimit -l unlimited

# hm_setup NICS: loads the vfio modules and binds every e1000 (8086:100e) to vfio-pci.
hm_setup() {
  for m in irqbypass vfio vfio_virqfd vfio_iommu_type1 vfio-pci-core vfio-pci; do
    insmod /mods/$m.ko || echo "@@HM-VM WARN insmod $m failed"
  done
  bound=
  for d in /sys/bus/pci/devices/*; do
    [ "$(cat $d/vendor)" = 0x8086 ] && [ "$(cat $d/device)" = 0x100e ] || continue
    bdf=${d##*/}
    echo vfio-pci >$d/driver_override
    echo $bdf >/sys/bus/pci/drivers_probe
    g=$(readlink $d/iommu_group); g=${g##*/}
    bound="$bound $bdf(group ${g:-none})"
  done
  echo
  nodes=$(ls -d /sys/devices/system/node/node* 2>/dev/null | wc -l)
  echo "@@HM-VM BOOTED kernel=$(uname -r) cpus=$(grep -c ^processor /proc/cpuinfo) nodes=$nodes" \
       "hugepages1g=$(cat /sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages 2>/dev/null || echo 0)" \
       "vfio-nics:${bound:- none} /dev/vfio: $(ls /dev/vfio 2>/dev/null | xargs)"
}

# hm_run PROGRAM ARGS...: runs one program between BEGIN / END markers.
hm_run() {
  name=$1
  echo "@@HM-BEGIN $name"
  "$@"
  rc=$?
  echo "@@HM-END $name rc=$rc"
}
