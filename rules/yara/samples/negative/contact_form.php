<?php
// A normal contact form: reads request input, escapes it, sends mail. Never executes it.
$name = htmlspecialchars($_POST['name'] ?? '', ENT_QUOTES);
$msg = htmlspecialchars($_POST['message'] ?? '', ENT_QUOTES);
if (isset($_FILES['attachment'])) { move_uploaded_file($_FILES['attachment']['tmp_name'], '/var/www/uploads/' . basename($_FILES['attachment']['name'])); }
mail('webmaster@example.org', 'Contact from ' . $name, $msg);
$json = json_decode(base64_decode($_GET['state'] ?? ''), true);
echo "Thank you, $name";
?>
